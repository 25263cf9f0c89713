<?php

/**
 * WordPress runs this when the merchant deletes the plugin: everything the plugin kept goes
 * (Merchant::uninstall).
 *
 * @package Bazgasht
 */

declare(strict_types=1);

defined('WP_UNINSTALL_PLUGIN') || exit;

require_once __DIR__ . '/includes/autoload.php';

\Bazgasht\Merchant::uninstall();
