<?php

declare(strict_types=1);

require_once __DIR__ . '/ShopperTestCase.php';

use Bazgasht\Capture;
use Bazgasht\CartStore;

/** A shopper taps the SMS link: ?bazgasht_restore=… on the cart's restore_url. */
final class RestoreTest extends ShopperTestCase
{
    private const CART = 'AbCdEfGhIjKlMnOpQrStUvWxYz012345';

    private function tap(array $payload = [], array $utm = []): string
    {
        $_GET = ['bazgasht_restore' => self::mint($payload + ['v' => 1, 'cart' => self::CART,
            'items' => [[11, 0, 2], [12, 0, 1]], 'coupon' => 'off5', 'exp' => self::NOW + 86400])] + $utm;
        try {
            do_action('wp_loaded');
        } catch (WPExit $exit) {
            return $exit->getMessage();
        }
        $this->fail('the restore did not end the request');
    }

    private function quantities(): array
    {
        $out = [];
        foreach (WC()->cart->get_cart() as $item) {
            $out[$item['product_id'] . ':' . $item['variation_id']] = $item['quantity'];
        }
        return $out;
    }

    public function testAValidLinkRestoresTheCartAndGoesToCheckout(): void
    {
        CartStore::save(['token' => self::CART, 'phone' => '09123456789', 'first_name' => 'سارا',
            'last_name' => 'محمدی', 'email' => 'sara@example.com', 'consent' => true]);

        $this->assertSame('restored', $this->tap([], ['utm_source' => 'sms', 'utm_campaign' => 'cart1', 'x' => 'y']));

        $this->assertSame(['11:0' => 2, '12:0' => 1], $this->quantities());
        $this->assertSame(['off5'], WC()->cart->get_applied_coupons());
        $this->assertSame(self::CART, WC()->session->get(Capture::TOKEN), 'the order will carry the cart token');
        $this->assertSame('09123456789', WC()->customer->get_billing_phone());
        $this->assertSame(['سارا', 'محمدی', 'sara@example.com'], [WC()->customer->get_billing_first_name(),
            WC()->customer->get_billing_last_name(), WC()->customer->get_billing_email()]);
        $this->assertSame('https://shop.example/checkout/?utm_source=sms&utm_campaign=cart1', WP::$redirect);
        $this->assertSame(303, WP::$redirectStatus);
        $this->assertArrayHasKey('Cache-Control', WP::$headers);
        $this->assertSame([['سبد خریدتان برگشت؛ می‌توانید خریدتان را تمام کنید.', 'success']], WCStub::$notices);
    }

    public function testTheCustomersOwnDetailsAreNotOverwritten(): void
    {
        CartStore::save(['token' => self::CART, 'phone' => '09123456789', 'email' => 'row@example.com',
            'consent' => true]);
        WC()->customer->set_billing_email('own@example.com');

        $this->tap();

        $this->assertSame('own@example.com', WC()->customer->get_billing_email());
        $this->assertSame('09123456789', WC()->customer->get_billing_phone());
    }

    public function testItemsAlreadyInTheCartAreNotDuplicated(): void
    {
        $mug = WC()->cart->add_to_cart(12, 3);
        $book = WC()->cart->add_to_cart(11, 1);
        WC()->cart->apply_coupon('off5');

        $this->assertSame('restored', $this->tap());

        $this->assertSame(['12:0' => 3, '11:0' => 2], $this->quantities(), 'raised to 2, kept at 3');
        $this->assertCount(2, WC()->cart->get_cart());
        $this->assertSame(['off5'], WC()->cart->get_applied_coupons());
        $this->assertNotNull($mug);
        $this->assertNotNull($book);
    }

    public function testAnUnavailableItemMakesAPartialRestore(): void
    {
        WCStub::$products[12]->inStock = false;

        $this->assertSame('partly', $this->tap());

        $this->assertSame(['11:0' => 2], $this->quantities());
        $this->assertSame('https://shop.example/checkout/', WP::$redirect);
        $this->assertSame('notice', WCStub::$notices[0][1]);
    }

    public function testNothingAvailableGoesToTheCart(): void
    {
        WCStub::$products[11]->purchasable = false;
        unset(WCStub::$products[12]);

        $this->assertSame('partly', $this->tap());

        $this->assertSame([], $this->quantities());
        $this->assertSame([], WC()->cart->get_applied_coupons());
        $this->assertSame('https://shop.example/cart/', WP::$redirect);
    }

    public function testAnAlreadyOrderedCartGoesToTheShop(): void
    {
        WCStub::$orders[501] = new WC_Order(501, 'processing');
        CartStore::save(['token' => self::CART, 'order_id' => 501]);

        $this->assertSame('ordered', $this->tap());

        $this->assertSame([], $this->quantities());
        $this->assertSame('', (string) WC()->session->get(Capture::TOKEN, ''));
        $this->assertSame('https://shop.example/shop/', WP::$redirect);
        $this->assertSame(303, WP::$redirectStatus);
    }

    public function testACartWhoseOrderWasNeverPaidIsRefilled(): void
    {
        // A lost-order SMS, after WooCommerce cancelled the unpaid order placed from this cart.
        WCStub::$orders[502] = new WC_Order(502, 'cancelled');
        CartStore::save(['token' => self::CART, 'order_id' => 502]);

        $this->assertSame('restored', $this->tap());

        $this->assertSame(['11:0' => 2, '12:0' => 1], $this->quantities());
        $this->assertSame('https://shop.example/checkout/', strtok((string) WP::$redirect, '?'));
    }

    public function testATamperedLinkRestoresNothing(): void
    {
        $_GET = ['bazgasht_restore' => self::mint(['v' => 1, 'cart' => self::CART, 'items' => [[11, 0, 2]],
            'coupon' => null, 'exp' => self::NOW + 60], 'not-the-secret'), 'utm_source' => 'sms'];
        try {
            do_action('wp_loaded');
            $this->fail('no exit');
        } catch (WPExit $exit) {
            $this->assertSame('invalid', $exit->getMessage());
        }

        $this->assertSame([], $this->quantities());
        $this->assertSame('https://shop.example/cart/?utm_source=sms', WP::$redirect);
        $this->assertSame('error', WCStub::$notices[0][1]);
        $this->assertSame('', (string) WC()->session->get(Capture::TOKEN, ''));
    }

    public function testAnExpiredLinkRestoresNothing(): void
    {
        $this->assertSame('invalid', $this->tap(['exp' => self::NOW - 1]));

        $this->assertSame([], $this->quantities());
        $this->assertSame('https://shop.example/cart/', WP::$redirect);
    }

    public function testAPageWithoutTheParameterIsLeftAlone(): void
    {
        $_GET = ['utm_source' => 'sms'];
        do_action('wp_loaded');

        $this->assertNull(WP::$redirect);
        $this->assertSame([], WCStub::$notices);
    }

    public function testTheRestoredCartIsTheSameRowAndSaysNothingNew(): void
    {
        // The row as bazgasht last heard of it, then the shopper restores it in a new browser.
        $this->human();
        WC()->cart->add_to_cart(11, 2);
        WC()->cart->add_to_cart(12, 1);
        $_POST = ['phone' => '09123456789'];
        do_action('wc_ajax_bazgasht_capture');
        $this->shutdownDeliveries();
        $cart = $this->token();
        WCStub::reset();
        WCStub::product(11, 'کتاب', '275000');
        WCStub::product(12, 'ماگ', '120000');

        $this->tap(['cart' => $cart, 'coupon' => null]);
        $this->human();  // the script ran on the checkout page

        $this->assertSame([], $this->shutdownDeliveries());
        $this->assertSame($cart, $this->token());
    }
}
