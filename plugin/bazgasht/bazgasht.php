<?php

/**
 * Plugin Name:          bazgasht
 * Plugin URI:           https://bazgasht.ir/
 * Description:          Cart and phone capture, cart restore and order attribution for bazgasht's SMS.
 * Version:              0.1.0
 * Requires at least:    6.5
 * Tested up to:         6.8
 * Requires PHP:         8.1
 * Requires Plugins:     woocommerce
 * WC requires at least: 8.9
 * WC tested up to:      10.0
 * Author:               bazgasht
 * License:              GPL-2.0-or-later
 * Text Domain:          bazgasht
 * Domain Path:          /languages
 *
 * @package Bazgasht
 */

declare(strict_types=1);

defined('ABSPATH') || exit;

define('BAZGASHT_VERSION', '0.1.0');
define('BAZGASHT_FILE', __FILE__);

require_once __DIR__ . '/includes/autoload.php';

\Bazgasht\Plugin::boot(__FILE__);
