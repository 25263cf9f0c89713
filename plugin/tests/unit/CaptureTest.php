<?php

declare(strict_types=1);

require_once __DIR__ . '/ShopperTestCase.php';

use Bazgasht\Capture;
use Bazgasht\CartStore;
use Bazgasht\CartTopic;
use Bazgasht\Clock;

/** A shopper's cart on its way to bazgasht. */
final class CaptureTest extends ShopperTestCase
{
    public function testABotThatAddsToTheCartLeavesNoRow(): void
    {
        WC()->cart->add_to_cart(11, 2);

        $this->assertSame([], $this->shutdownDeliveries());
        $this->assertSame('', $this->token());
        $this->assertSame('0', $GLOBALS['wpdb']->get_var('SELECT COUNT(*) FROM wp_bazgasht_carts'));
    }

    public function testAHumansAddToCartMakesARowAndOneDelivery(): void
    {
        $this->human();
        WC()->cart->add_to_cart(11, 2);
        WC()->cart->add_to_cart(12, 1);

        $fired = $this->shutdownDeliveries();
        $token = $this->token();
        $this->assertSame([$token], $fired);
        $this->assertMatchesRegularExpression('/^[A-Za-z0-9]{32}$/', $token);
        $row = CartStore::find($token);
        $this->assertSame('670000', $row['total']);
        $this->assertSame(
            [['product_id' => 11, 'variation_id' => 0, 'name' => 'کتاب', 'quantity' => 2, 'price' => '275000',
              'total' => '550000'],
             ['product_id' => 12, 'variation_id' => 0, 'name' => 'ماگ', 'quantity' => 1, 'price' => '120000',
              'total' => '120000']],
            $row['items']
        );
        $this->assertSame(CartTopic::sha256(CartTopic::bodyFor($token)), $row['payload_sha256']);
        $this->assertSame('2026-11-30T00:53:20', $row['modified_gmt']);
    }

    public function testTheSameCartTwiceDeliversOnce(): void
    {
        $this->human();
        $key = WC()->cart->add_to_cart(11, 2);
        $this->assertCount(1, $this->shutdownDeliveries());

        Clock::set(self::NOW + 60);
        WC()->cart->set_quantity($key, 3);
        WC()->cart->set_quantity($key, 2);  // back to what bazgasht already has
        $this->assertSame([], $this->shutdownDeliveries());

        WC()->cart->apply_coupon('off5');   // a change the body does not show: the total is the stub's
        WC()->cart->remove_coupon('off5');
        $this->assertSame([], $this->shutdownDeliveries());

        WC()->cart->set_quantity($key, 4);
        $this->assertCount(1, $this->shutdownDeliveries());
        $this->assertSame('2026-11-30T00:54:20', CartStore::find($this->token())['modified_gmt']);
    }

    public function testAPersianDigitPhoneTypedAtCheckoutReachesTheRowInAscii(): void
    {
        WC()->cart->add_to_cart(11, 1);
        $_POST = ['phone' => '۰۹۱۲ ۳۴۵ ۶۷۸۹', 'email' => 'sara@example.com', 'first_name' => 'سارا',
            'last_name' => '<b>محمدی</b>'];
        do_action('wc_ajax_bazgasht_capture');

        $this->assertSame([[200, ['ok' => true]]], $this->responses);
        $this->assertCount(1, $this->shutdownDeliveries());
        $body = CartTopic::bodyFor($this->token());
        $this->assertSame('09123456789', $body['phone']);
        $this->assertSame(['سارا', 'محمدی', 'sara@example.com'], [$body['first_name'], $body['last_name'],
            $body['email']]);
    }

    public function testTheEndpointPingMarksTheSessionHumanAndStartsItsSession(): void
    {
        WC()->cart->add_to_cart(11, 1);
        $_POST = ['ping' => '1'];
        do_action('wc_ajax_bazgasht_capture');

        $this->assertTrue(WC()->session->get(Capture::HUMAN));
        $this->assertTrue(WC()->session->has_session());
        $this->assertCount(1, $this->shutdownDeliveries());
    }

    public function testAHalfTypedEmailKeepsTheLastGoodOne(): void
    {
        $this->human();
        $_POST = ['email' => 'sara@example.com'];
        do_action('wc_ajax_bazgasht_capture');
        $_POST = ['email' => 'sara@exa'];
        do_action('wc_ajax_bazgasht_capture');
        WC()->cart->add_to_cart(11, 1);
        $this->shutdownDeliveries();

        $this->assertSame('sara@example.com', CartStore::find($this->token())['email']);
    }

    public function testTheEndpointAnswers429BeyondThirtyRequestsInTenMinutesPerIp(): void
    {
        for ($i = 0; $i < 31; $i++) {
            do_action('wc_ajax_bazgasht_capture');
        }
        $this->assertSame(30, count(array_filter($this->responses, static fn ($r) => $r[0] === 200)));
        $this->assertSame([429, ['ok' => false, 'error' => 'rate_limited']], end($this->responses));

        $_SERVER['REMOTE_ADDR'] = '198.51.100.9';  // another shopper is not limited
        do_action('wc_ajax_bazgasht_capture');
        $this->assertSame(200, end($this->responses)[0]);

        $_SERVER['REMOTE_ADDR'] = '203.0.113.7';
        Clock::set(self::NOW + 601);
        do_action('wc_ajax_bazgasht_capture');
        $this->assertSame(200, end($this->responses)[0]);
    }

    public function testBehindAProxyTheStoreNamesTheClientsAddress(): void
    {
        // Every shopper comes from the CDN's address; the store's own filter tells them apart.
        add_filter('bazgasht_capture_client_ip', static fn () => $_SERVER['HTTP_X_REAL_IP']);
        $_SERVER['HTTP_X_REAL_IP'] = '192.0.2.1';
        for ($i = 0; $i < 30; $i++) {
            do_action('wc_ajax_bazgasht_capture');
        }
        $_SERVER['HTTP_X_REAL_IP'] = '192.0.2.2';
        do_action('wc_ajax_bazgasht_capture');

        $this->assertSame(200, end($this->responses)[0]);
        unset($_SERVER['HTTP_X_REAL_IP']);
    }

    public function testTheEndpointRefusesABigBodyAndCutsLongFields(): void
    {
        $_SERVER['CONTENT_LENGTH'] = '5000';
        do_action('wc_ajax_bazgasht_capture');
        $this->assertSame(413, end($this->responses)[0]);
        $this->assertNull(WC()->session->get(Capture::HUMAN));

        $_SERVER['CONTENT_LENGTH'] = '900';
        $_POST = ['first_name' => str_repeat('ا', 500)];
        do_action('wc_ajax_bazgasht_capture');
        $this->assertSame(200, mb_strlen(WC()->session->get(Capture::CONTACT)['first_name']));
    }

    public function testAStoreApiRequestMarksTheSessionHuman(): void
    {
        // Block cart: POST /wp-json/wc/store/v1/cart/add-item runs WC_Cart::add_to_cart().
        WC()->rest = true;
        $_SERVER['REQUEST_URI'] = '/wp-json/wc/store/v1/cart/add-item';
        WC()->cart->add_to_cart(11, 1);

        $this->assertTrue(WC()->session->get(Capture::HUMAN));
        $this->assertCount(1, $this->shutdownDeliveries());
    }

    public function testAnotherRestRequestDoesNot(): void
    {
        WC()->rest = true;
        $_SERVER['REQUEST_URI'] = '/wp-json/wc/v3/orders';
        WC()->cart->add_to_cart(11, 1);

        $this->assertSame([], $this->shutdownDeliveries());
    }

    public function testBlockCheckoutsCustomerUpdateBringsThePhone(): void
    {
        // do_action('woocommerce_store_api_cart_update_customer_from_request', WC_Customer $customer,
        //           WP_REST_Request $request)
        WC()->cart->add_to_cart(11, 1);
        $customer = WC()->customer;
        $customer->set_billing_phone('09123456789');
        $customer->set_billing_first_name('سارا');
        do_action(
            'woocommerce_store_api_cart_update_customer_from_request',
            $customer,
            new WP_REST_Request('POST', '/wc/store/v1/cart/update-customer')
        );

        $this->assertCount(1, $this->shutdownDeliveries());
        $this->assertSame('09123456789', CartTopic::bodyFor($this->token())['phone']);
    }

    public function testStoreApiPhonesAreMadeAsciiBeforeWooCommerceValidates(): void
    {
        // apply_filters('rest_request_before_callbacks', $response, $handler, $request)
        $request = new WP_REST_Request('POST', '/wc/store/v1/checkout', [
            'billing_address' => ['phone' => '۰۹۱۲۳۴۵۶۷۸۹', 'city' => 'تهران'],
            'shipping_address' => ['phone' => '٠٩١٢٣٤٥٦٧٨٩'],
        ]);
        $this->assertNull(apply_filters('rest_request_before_callbacks', null, [], $request));
        $this->assertSame(['phone' => '09123456789', 'city' => 'تهران'], $request->get_param('billing_address'));
        $this->assertSame('09123456789', $request->get_param('shipping_address')['phone']);

        $other = new WP_REST_Request('POST', '/wc/store/v1/cart/add-item', ['billing_address' => ['phone' => '۰۹']]);
        apply_filters('rest_request_before_callbacks', null, [], $other);
        $this->assertSame('۰۹', $other->get_param('billing_address')['phone']);
    }

    public function testClassicCheckoutsPostedPhoneIsMadeAsciiAndCounts(): void
    {
        // apply_filters('woocommerce_checkout_posted_data', $data): before WC validates the fields.
        WC()->cart->add_to_cart(11, 1);
        $data = apply_filters('woocommerce_checkout_posted_data', ['billing_phone' => '۰۹۱۲-۳۴۵-۶۷۸۹',
            'billing_email' => 'a@b.ir']);

        $this->assertSame('09123456789', $data['billing_phone']);
        $this->assertCount(1, $this->shutdownDeliveries(), 'a phone from a form makes the row, even unmarked');
    }

    public function testUntickingConsentErasesTheRowAndDeliversConsentFalseOnce(): void
    {
        $this->human();
        WC()->cart->add_to_cart(11, 1);
        $_POST = ['phone' => '09123456789', 'first_name' => 'سارا'];
        do_action('wc_ajax_bazgasht_capture');
        $this->assertCount(1, $this->shutdownDeliveries());
        $token = $this->token();

        $_POST = ['consent' => '0'];
        do_action('wc_ajax_bazgasht_capture');
        $this->assertSame([$token], $this->shutdownDeliveries());
        $row = CartStore::find($token);
        $this->assertSame(['', '', [], false], [$row['phone'], $row['first_name'], $row['items'], $row['consent']]);
        $body = CartTopic::bodyFor($token);
        $this->assertFalse($body['consent']);
        $this->assertNull($body['phone']);
        $this->assertSame([], $body['items']);

        WC()->cart->add_to_cart(12, 1);  // the shopper goes on shopping: nothing more is sent
        $this->assertSame([], $this->shutdownDeliveries());

        $_POST = ['consent' => '1'];  // ticked again: the cart is bazgasht's again
        do_action('wc_ajax_bazgasht_capture');
        $this->assertSame([$token], $this->shutdownDeliveries());
        $this->assertCount(2, CartTopic::bodyFor($token)['items']);
    }

    public function testNoConsentFromTheStartMakesNoRow(): void
    {
        $this->human();
        WC()->session->set(Capture::CONTACT, ['consent' => false]);
        WC()->cart->add_to_cart(11, 1);

        $this->assertSame([], $this->shutdownDeliveries());
        $this->assertSame('', $this->token());
    }

    public function testAfterAnOrderTheNextCartGetsANewToken(): void
    {
        $this->human();
        WC()->cart->add_to_cart(11, 1);
        $this->shutdownDeliveries();
        $first = $this->token();

        Capture::orderPlaced(501);
        $this->assertSame('', $this->token());
        $this->assertSame(501, CartStore::find($first)['order_id']);
        Capture::touch();  // the cart is still there while the bank's page is open
        $this->assertSame([], $this->shutdownDeliveries());

        WC()->cart->empty_cart();  // paid: WooCommerce empties the cart
        $this->assertSame([], $this->shutdownDeliveries());
        WC()->cart->add_to_cart(11, 1);  // the same book again, another day: a new cart
        $fired = $this->shutdownDeliveries();
        $this->assertCount(1, $fired);
        $this->assertNotSame($first, $fired[0]);
        $this->assertSame($fired[0], $this->token());
    }

    public function testTheScriptIsEnqueuedInTheFooterWithTheEndpoint(): void
    {
        do_action('wp_enqueue_scripts');

        $script = ShopperWP::$scripts['bazgasht-capture'];
        $this->assertStringEndsWith('/bazgasht/assets/capture.js', $script['src']);
        $this->assertSame([], $script['deps']);
        $this->assertTrue($script['args']['in_footer']);
        $inline = ShopperWP::$inline['bazgasht-capture'][0];
        $this->assertStringContainsString('"endpoint":"\/?wc-ajax=bazgasht_capture"', $inline);
    }

    public function testNoScriptWhenTheMerchantTurnedCaptureAndPromptOff(): void
    {
        $this->settings(['capture_checkout' => false, 'phone_prompt' => false]);
        do_action('wp_enqueue_scripts');

        $this->assertSame([], ShopperWP::$scripts);
    }
}
