<?php

/**
 * What the merchant manages: activation (the cart table, the purge), the settings page and its
 * form handlers, the record of the webhook's deliveries, and uninstall.
 *
 * @package Bazgasht
 */

declare(strict_types=1);

namespace Bazgasht;

final class Merchant
{
    /** admin-post.php actions => Settings' handlers. */
    public const POST_ACTIONS = [
        'bazgasht_connect' => 'connect',
        'bazgasht_disconnect' => 'disconnect',
        'bazgasht_settings' => 'saveOptions',
    ];

    public static function register(): void
    {
        add_action('admin_menu', [Settings::class, 'menu']);
        foreach (self::POST_ACTIONS as $action => $handler) {
            // Each handler answers with a redirect; the request must end there, as WordPress expects.
            add_action('admin_post_' . $action, static function () use ($handler): void {
                Settings::$handler();
                exit;
            });
        }
        add_action('woocommerce_webhook_delivery', [Status::class, 'record'], 10, 5);
        add_action(Purge::HOOK, [Purge::class, 'run']);
        // The schedule can be lost (a database restore, a scheduler clean-up, an update that
        // skipped activation): an admin visit puts it back.
        add_action('admin_init', [Purge::class, 'schedule']);
    }

    public static function activate(): void
    {
        CartStore::install();
        Purge::schedule();
    }

    public static function deactivate(): void
    {
        Purge::unschedule();
    }

    /**
     * uninstall.php's work: every option, the WooCommerce webhook, the scheduled purge and the
     * cart table. It runs without the plugin booted (the storefront half may not be loaded), so
     * it touches the table through $wpdb directly.
     */
    public static function uninstall(): void
    {
        $webhookId = (int) get_option(Options::WEBHOOK_ID, 0);
        // WooCommerce may already be deactivated or deleted: then its webhook table is its own business.
        if ($webhookId > 0 && class_exists('WC_Webhook') && function_exists('wc_get_webhook')) {
            wc_get_webhook($webhookId)?->delete(true);
        }
        foreach (Options::ALL as $option) {
            delete_option($option);
        }
        if (function_exists('as_unschedule_all_actions')) {
            as_unschedule_all_actions('', [], Purge::GROUP);
        }
        wp_clear_scheduled_hook(Purge::HOOK);

        global $wpdb;
        $table = $wpdb->prefix . Options::CART_TABLE;
        $wpdb->query("DROP TABLE IF EXISTS `{$table}`");
    }
}
