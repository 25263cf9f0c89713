<?php

declare(strict_types=1);

require_once __DIR__ . '/ShopperTestCase.php';

use Bazgasht\Capture;
use Bazgasht\CartTopic;

final class ConsentTest extends ShopperTestCase
{
    public function testClassicCheckoutShowsTheBoxTickedByDefault(): void
    {
        $this->settings(['consent_label' => 'پیامک <b>بفرستید</b>']);
        ob_start();
        do_action('woocommerce_after_checkout_billing_form', null);
        $html = (string) ob_get_clean();

        $this->assertStringContainsString('name="bazgasht_sms_consent"', $html);
        $this->assertStringContainsString('type="checkbox"', $html);
        $this->assertStringContainsString('checked="checked"', $html);
        $this->assertStringContainsString('پیامک &lt;b&gt;بفرستید&lt;/b&gt;', $html);
        $this->assertStringContainsString('name="bazgasht_sms_consent_shown" value="1"', $html);
    }

    public function testTheBoxRemembersTheShoppersNo(): void
    {
        Capture::setConsent(false);
        ob_start();
        do_action('woocommerce_after_checkout_billing_form', null);
        $this->assertStringNotContainsString('checked', (string) ob_get_clean());
    }

    public function testTheMerchantsDefaultCanBeUnticked(): void
    {
        $this->settings(['consent_default' => false]);
        // apply_filters("woocommerce_get_default_value_for_{$key}", $value, $group, $wc_object)
        $this->assertFalse(apply_filters(
            'woocommerce_get_default_value_for_bazgasht/sms-consent',
            null,
            'other',
            WC()->customer
        ));
        Capture::setConsent(true);
        $this->assertTrue(apply_filters(
            'woocommerce_get_default_value_for_bazgasht/sms-consent',
            null,
            'other',
            WC()->customer
        ));
    }

    public function testBlockCheckoutGetsAContactCheckbox(): void
    {
        $this->settings(['consent_label' => 'بله، پیامک بفرستید']);
        do_action('woocommerce_init');

        $this->assertSame([['id' => 'bazgasht/sms-consent', 'label' => 'بله، پیامک بفرستید', 'location' => 'contact',
            'type' => 'checkbox']], WCStub::$additionalFields);
    }

    public function testUntickingOnBlockCheckoutErasesTheCart(): void
    {
        $this->human();
        WC()->cart->add_to_cart(11, 1);
        WC()->customer->set_billing_phone('09123456789');
        $this->shutdownDeliveries();
        $token = $this->token();

        // do_action('woocommerce_set_additional_field_value', $key, $value, $group, $wc_object):
        // POST /wc/store/v1/cart/update-customer persists contact fields on the customer.
        do_action('woocommerce_set_additional_field_value', 'bazgasht/sms-consent', false, 'other', WC()->customer);

        $this->assertSame([$token], $this->shutdownDeliveries());
        $body = CartTopic::bodyFor($token);
        $this->assertFalse($body['consent']);
        $this->assertNull($body['phone']);
        $this->assertSame([], $body['items']);
    }

    public function testTheBlockAnswerLandsOnTheOrder(): void
    {
        $order = new WC_Order(9);
        do_action('woocommerce_set_additional_field_value', 'bazgasht/sms-consent', '1', 'other', $order);
        $this->assertSame('yes', $order->get_meta('_bazgasht_sms_consent'));
        do_action('woocommerce_set_additional_field_value', 'bazgasht/sms-consent', false, 'other', $order);
        $this->assertSame('no', $order->get_meta('_bazgasht_sms_consent'));
        do_action('woocommerce_set_additional_field_value', 'other/field', false, 'other', $order);
        $this->assertSame('no', $order->get_meta('_bazgasht_sms_consent'));
    }

    public function testNoBoxWhenTheMerchantDoesNotAsk(): void
    {
        $this->settings(['consent_enabled' => false]);

        ob_start();
        do_action('woocommerce_after_checkout_billing_form', null);
        $this->assertSame('', ob_get_clean());
        do_action('woocommerce_init');
        $this->assertSame([], WCStub::$additionalFields);
        $_POST = ['bazgasht_sms_consent_shown' => '1'];
        $order = new WC_Order(0);
        do_action('woocommerce_checkout_create_order', $order, []);
        do_action('woocommerce_store_api_checkout_update_order_meta', $order);
        $this->assertSame('', $order->get_meta('_bazgasht_sms_consent'));
        $this->assertTrue(Capture::consent());
    }
}
