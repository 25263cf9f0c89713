<?php

/**
 * Start-up: declares what the plugin is compatible with and registers its two halves once
 * WooCommerce is loaded.
 *
 * @package Bazgasht
 */

declare(strict_types=1);

namespace Bazgasht;

final class Plugin
{
    /** Each registers its own hooks: what shoppers see and do, and what the merchant manages. */
    public const HALVES = [Shopper::class, Merchant::class];

    public static function boot(string $file): void
    {
        add_action('before_woocommerce_init', static function () use ($file): void {
            self::declareCompatibility($file);
        });
        add_action('plugins_loaded', [self::class, 'start']);
        register_activation_hook($file, [Merchant::class, 'activate']);
        register_deactivation_hook($file, [Merchant::class, 'deactivate']);
    }

    /** HPOS (custom order tables) and the cart and checkout blocks. */
    public static function declareCompatibility(string $file): void
    {
        $features = 'Automattic\\WooCommerce\\Utilities\\FeaturesUtil';
        if (class_exists($features)) {
            $features::declare_compatibility('custom_order_tables', $file, true);
            $features::declare_compatibility('cart_checkout_blocks', $file, true);
        }
    }

    public static function start(): void
    {
        if (!class_exists('WooCommerce')) {
            return;  // "Requires Plugins" keeps this from happening on WordPress 6.5+.
        }
        foreach (self::HALVES as $half) {
            $half::register();
        }
    }
}
