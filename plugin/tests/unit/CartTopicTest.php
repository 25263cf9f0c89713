<?php

declare(strict_types=1);

require_once __DIR__ . '/ShopperTestCase.php';

use Bazgasht\CartStore;
use Bazgasht\CartTopic;

/** The cart topic as WooCommerce's webhook machinery sees it, and the body bazgasht parses. */
final class CartTopicTest extends ShopperTestCase
{
    private const TOKEN = 'AbCdEfGhIjKlMnOpQrStUvWxYz012345';

    public function testTheTopicIsRegisteredWithWooCommerce(): void
    {
        // apply_filters('woocommerce_webhook_topics', $topics): the admin dropdown.
        $this->assertArrayHasKey('bazgasht_cart.updated', apply_filters('woocommerce_webhook_topics', [
            'order.created' => 'Order created']));
        // wc_is_webhook_valid_topic(): apply_filters('woocommerce_valid_webhook_resources', [...]).
        $this->assertSame(
            ['coupon', 'customer', 'order', 'product', 'bazgasht_cart'],
            apply_filters('woocommerce_valid_webhook_resources', ['coupon', 'customer', 'order', 'product'])
        );
        // WC_Webhook::get_hooks(): apply_filters('woocommerce_webhook_topic_hooks', $topic_hooks, $this).
        $hooks = apply_filters('woocommerce_webhook_topic_hooks', ['order.created' => ['x']], new stdClass());
        $this->assertSame(['bazgasht_cart_updated'], $hooks['bazgasht_cart.updated']);
        $this->assertSame(['x'], $hooks['order.created']);
    }

    public function testOtherResourcesPayloadsAreLeftAlone(): void
    {
        // WC_Webhook::build_payload(): apply_filters('woocommerce_webhook_payload', $payload,
        //                                            $resource, $resource_id, $this->get_id()).
        $this->assertSame(['id' => 5], apply_filters('woocommerce_webhook_payload', ['id' => 5], 'order', 5, 3));
    }

    public function testThePayloadIsTheBodyOfTheDocsBuiltFromTheRow(): void
    {
        CartStore::save([
            'token' => self::TOKEN, 'phone' => '09123456789', 'first_name' => 'سارا', 'last_name' => 'محمدی',
            'email' => 'sara@example.com', 'total' => '550000', 'currency' => 'IRT', 'consent' => true,
            'items' => [['product_id' => 11, 'variation_id' => 0, 'name' => 'کتاب', 'quantity' => 2,
                'price' => '275000', 'total' => '550000']],
            'modified_gmt' => '2026-11-23T03:30:00',
        ]);

        $body = apply_filters('woocommerce_webhook_payload', [], 'bazgasht_cart', self::TOKEN, 3);

        $this->assertSame([
            'token' => self::TOKEN, 'phone' => '09123456789', 'first_name' => 'سارا', 'last_name' => 'محمدی',
            'email' => 'sara@example.com',
            'items' => [['product_id' => 11, 'variation_id' => 0, 'name' => 'کتاب', 'quantity' => 2,
                'price' => '275000', 'total' => '550000']],
            'total' => '550000', 'currency' => 'IRT', 'consent' => true,
            'restore_url' => 'https://shop.example/', 'cart_url' => 'https://shop.example/cart/',
            'date_modified_gmt' => '2026-11-23T03:30:00',
        ], $body);
        // WC_Webhook::deliver(): the body is trim(wp_json_encode($payload)), \u and \/ escaped.
        $encoded = CartTopic::encode($body);
        $this->assertStringContainsString('"restore_url":"https:\/\/shop.example\/"', $encoded);
        $this->assertStringContainsString('"consent":true', $encoded);
        $this->assertSame($body, json_decode($encoded, true));
    }

    public function testWithoutConsentNothingPersonalNorItemsGoOut(): void
    {
        CartStore::save(['token' => self::TOKEN, 'phone' => '09123456789', 'email' => 'a@b.ir', 'consent' => false,
            'items' => [['product_id' => 11, 'quantity' => 1]], 'total' => '9', 'currency' => 'IRT']);

        $body = CartTopic::bodyFor(self::TOKEN);
        $this->assertSame([self::TOKEN, null, '', '', '', [], '0', false], [$body['token'], $body['phone'],
            $body['first_name'], $body['last_name'], $body['email'], $body['items'], $body['total'], $body['consent']]);
    }

    public function testARowNoLongerKeptIsDeliveredAsConsentFalse(): void
    {
        $body = apply_filters('woocommerce_webhook_payload', [], 'bazgasht_cart', 'purgedTokenXYZ', 3);

        $this->assertSame('purgedTokenXYZ', $body['token']);
        $this->assertFalse($body['consent']);
        $this->assertNull($body['phone']);
        $this->assertSame([], $body['items']);
        $this->assertSame('IRT', $body['currency']);
        $this->assertSame('2026-11-30T00:53:20', $body['date_modified_gmt']);
    }

    public function testItemsBazgashtWouldRefuseAreLeftOutAndTypesAreExact(): void
    {
        $body = CartTopic::body(['token' => self::TOKEN, 'consent' => true, 'currency' => 'IRT', 'items' => [
            ['product_id' => '11', 'variation_id' => '7', 'name' => 5, 'quantity' => '2', 'price' => 275000,
                'total' => '550000.5'],
            ['product_id' => 12, 'quantity' => 1.5, 'price' => 'n/a'],
            ['product_id' => 0, 'quantity' => 1],
            ['product_id' => 13, 'quantity' => 0],
            'junk',
        ]]);

        $this->assertSame([
            ['product_id' => 11, 'variation_id' => 7, 'name' => '5', 'quantity' => 2, 'price' => '275000',
                'total' => '550000.5'],
            ['product_id' => 12, 'variation_id' => 0, 'name' => '', 'quantity' => 1.5, 'price' => '0', 'total' => '0'],
        ], $body['items']);
        $this->assertNull($body['phone']);
        $this->assertSame('0', $body['total']);
    }
}
