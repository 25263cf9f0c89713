<?php

declare(strict_types=1);

require_once __DIR__ . '/ShopperTestCase.php';

use Bazgasht\Capture;
use Bazgasht\CartStore;

/** The cart token and the consent answer in the order's meta. */
final class AttributionTest extends ShopperTestCase
{
    private function cartWithToken(): string
    {
        $this->human();
        WC()->cart->add_to_cart(11, 1);
        $this->shutdownDeliveries();
        return $this->token();
    }

    public function testClassicCheckoutWritesTheTokenAndTheAnswer(): void
    {
        $token = $this->cartWithToken();
        $_POST = ['bazgasht_sms_consent_shown' => '1', 'bazgasht_sms_consent' => '1'];
        $order = new WC_Order(0);  // not saved yet: WooCommerce saves it after the hook

        // do_action('woocommerce_checkout_create_order', $order, $data)
        do_action('woocommerce_checkout_create_order', $order, ['billing_phone' => '09123456789']);
        $this->assertSame($token, $order->get_meta('_bazgasht_cart_token'));
        $this->assertSame('yes', $order->get_meta('_bazgasht_sms_consent'));

        // do_action('woocommerce_checkout_order_processed', $order_id, $posted_data, $order)
        $order->id = 501;
        do_action('woocommerce_checkout_order_processed', 501, [], $order);
        $this->assertSame(501, CartStore::find($token)['order_id']);
        $this->assertSame('', $this->token(), 'the next cart gets a new token');
    }

    public function testAnUntickedBoxSaysNo(): void
    {
        $this->cartWithToken();
        $_POST = ['bazgasht_sms_consent_shown' => '1'];
        $order = new WC_Order(0);

        do_action('woocommerce_checkout_create_order', $order, []);

        $this->assertSame('no', $order->get_meta('_bazgasht_sms_consent'));
        $this->assertFalse(Capture::consent());
    }

    public function testNoAnswerWhenTheBoxWasNotShown(): void
    {
        $this->cartWithToken();
        $order = new WC_Order(0);

        do_action('woocommerce_checkout_create_order', $order, []);

        $this->assertSame('', $order->get_meta('_bazgasht_sms_consent'));
    }

    public function testAnOrderWithoutACapturedCartGetsNoToken(): void
    {
        $order = new WC_Order(0);
        do_action('woocommerce_checkout_create_order', $order, []);

        $this->assertSame('', $order->get_meta('_bazgasht_cart_token'));
    }

    public function testBlockCheckoutWritesTheTokenAndTheBoxsAnswer(): void
    {
        $token = $this->cartWithToken();
        $order = new WC_Order(777);  // the Store API's draft order has its id

        // do_action('woocommerce_store_api_checkout_update_order_meta', $order)
        do_action('woocommerce_store_api_checkout_update_order_meta', $order);
        $this->assertSame($token, $order->get_meta('_bazgasht_cart_token'));
        $this->assertSame('yes', $order->get_meta('_bazgasht_sms_consent'), 'the box showed ticked');

        // do_action('woocommerce_store_api_checkout_order_processed', $order)
        do_action('woocommerce_store_api_checkout_order_processed', $order);
        $this->assertSame(777, CartStore::find($token)['order_id']);
        $this->assertSame('', $this->token());
    }

    public function testTheFieldsOwnAnswerIsKeptOnBlockCheckout(): void
    {
        $this->cartWithToken();
        $order = new WC_Order(777);
        do_action('woocommerce_set_additional_field_value', 'bazgasht/sms-consent', false, 'other', $order);

        do_action('woocommerce_store_api_checkout_update_order_meta', $order);

        $this->assertSame('no', $order->get_meta('_bazgasht_sms_consent'));
    }
}
