<?php

declare(strict_types=1);

require_once __DIR__ . '/ShopperTestCase.php';

use Bazgasht\Capture;
use Bazgasht\Restore;

final class ShopperTest extends ShopperTestCase
{
    public function testEveryStorefrontHookIsAdded(): void
    {
        $hooks = [
            'woocommerce_add_to_cart', 'woocommerce_after_cart_item_quantity_update', 'woocommerce_cart_item_removed',
            'woocommerce_applied_coupon', 'woocommerce_removed_coupon', 'woocommerce_cart_emptied',
            'woocommerce_store_api_cart_update_customer_from_request',
            'woocommerce_store_api_checkout_update_customer_from_request', 'wc_ajax_bazgasht_capture',
            'woocommerce_checkout_posted_data', 'rest_request_before_callbacks', 'wp_enqueue_scripts', 'shutdown',
            'woocommerce_webhook_topics', 'woocommerce_valid_webhook_resources', 'woocommerce_webhook_topic_hooks',
            'woocommerce_webhook_payload', 'woocommerce_after_checkout_billing_form', 'woocommerce_init',
            'woocommerce_get_default_value_for_bazgasht/sms-consent', 'woocommerce_set_additional_field_value',
            'wp_loaded', 'woocommerce_checkout_create_order', 'woocommerce_store_api_checkout_update_order_meta',
            'woocommerce_checkout_order_processed', 'woocommerce_store_api_checkout_order_processed',
        ];
        foreach ($hooks as $hook) {
            $this->assertTrue(has_action($hook), $hook);
        }
    }

    public function testTheSyncRunsBeforeWooCommercesWebhookQueueAndSessionSave(): void
    {
        // wc_webhook_execute_queue() is on shutdown at 10, WC_Session_Handler::save_data at 20.
        $this->assertSame([[Capture::class, 'sync'], 1], WP::$hooks['shutdown'][5][0]);
        $this->assertSame([Restore::class, 'handle'], WP::$hooks['wp_loaded'][25][0][0]);
    }
}
