<?php

/**
 * PHPUnit bootstrap: WordPress and WooCommerce as stubs (tests/stubs), then the plugin's classes.
 *
 * WooCommerce's behaviour the plugin relies on is pinned by the hook signatures the stubs and
 * tests quote; the README's manual test runs the plugin on a real store.
 */

declare(strict_types=1);

define('ABSPATH', __DIR__ . '/');
define('BAZGASHT_TESTING', true);

foreach (glob(__DIR__ . '/stubs/*.php') as $stub) {
    require_once $stub;
}
require_once dirname(__DIR__) . '/bazgasht/includes/autoload.php';
