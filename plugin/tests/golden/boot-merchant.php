<?php

/**
 * Boot for the merchant half's golden scripts (run by the Python suite, without PHPUnit): the
 * WordPress and WooCommerce stand-ins the merchant half uses, then the plugin's autoloader.
 */

declare(strict_types=1);

defined('ABSPATH') || define('ABSPATH', dirname(__DIR__) . '/');
defined('BAZGASHT_TESTING') || define('BAZGASHT_TESTING', true);

foreach (['wordpress.php', 'wordpress-admin.php', 'woocommerce-webhooks.php'] as $stub) {
    require_once dirname(__DIR__) . '/stubs/' . $stub;
}
require_once dirname(__DIR__, 2) . '/bazgasht/includes/autoload.php';
