<?php

/**
 * The cart token in the order's meta (`_bazgasht_cart_token`, and `_bazgasht_sms_consent`):
 * bazgasht links the order to the cart its SMS were about. Once the order is placed, the cart
 * row keeps the order's id and the session's token is cleared, so the next cart gets a new one.
 *
 * @package Bazgasht
 */

declare(strict_types=1);

namespace Bazgasht;

final class Attribution
{
    public const META = '_bazgasht_cart_token';

    public static function register(): void
    {
        // do_action('woocommerce_checkout_create_order', $order, $data): before the order is saved.
        add_action('woocommerce_checkout_create_order', [self::class, 'classic'], 10, 2);
        // do_action('woocommerce_store_api_checkout_update_order_meta', $order): the draft order.
        add_action('woocommerce_store_api_checkout_update_order_meta', [self::class, 'block'], 10, 1);
        // do_action('woocommerce_checkout_order_processed', $order_id, $posted_data, $order).
        add_action('woocommerce_checkout_order_processed', [self::class, 'classicPlaced'], 10, 3);
        // do_action('woocommerce_store_api_checkout_order_processed', $order).
        add_action('woocommerce_store_api_checkout_order_processed', [self::class, 'blockPlaced'], 10, 1);
    }

    public static function classic(mixed $order, mixed $data = []): void
    {
        if (!$order instanceof \WC_Order) {
            return;
        }
        self::token($order);
        $consent = Consent::fromClassicPost();
        if ($consent !== null) {
            $order->update_meta_data(Consent::META, $consent ? 'yes' : 'no');
            Capture::setConsent($consent);
        }
    }

    public static function block(mixed $order): void
    {
        if (!$order instanceof \WC_Order) {
            return;
        }
        self::token($order);
        // The field's own hook wrote the answer when the shopper touched it; else the box showed
        // its default, and that is the answer.
        if (Consent::enabled() && $order->get_meta(Consent::META) === '') {
            $order->update_meta_data(Consent::META, Capture::consent() ? 'yes' : 'no');
        }
    }

    public static function classicPlaced(mixed $orderId, mixed $postedData = [], mixed $order = null): void
    {
        Capture::orderPlaced((int) $orderId);
    }

    public static function blockPlaced(mixed $order): void
    {
        if ($order instanceof \WC_Order) {
            Capture::orderPlaced($order->get_id());
        }
    }

    private static function token(\WC_Order $order): void
    {
        $token = function_exists('WC') && WC()->session !== null ? (string) WC()->session->get(Capture::TOKEN, '') : '';
        if ($token !== '') {
            $order->update_meta_data(self::META, $token);
        }
    }
}
