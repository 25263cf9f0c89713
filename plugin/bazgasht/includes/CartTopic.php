<?php

/**
 * The cart topic of WooCommerce's webhooks: resource `bazgasht_cart`, topic
 * `bazgasht_cart.updated`, fired by the action `bazgasht_cart_updated` (first argument: the cart
 * token). WooCommerce queues, signs and delivers it; the body is built here, from the cart
 * table, when WooCommerce delivers (so a delivery that waited carries the cart as it is then).
 *
 * @package Bazgasht
 */

declare(strict_types=1);

namespace Bazgasht;

final class CartTopic
{
    public const RESOURCE = 'bazgasht_cart';
    public const TOPIC = 'bazgasht_cart.updated';
    public const ACTION = 'bazgasht_cart_updated';

    public static function register(): void
    {
        add_filter('woocommerce_webhook_topics', [self::class, 'topics']);
        add_filter('woocommerce_valid_webhook_resources', [self::class, 'resources']);
        add_filter('woocommerce_webhook_topic_hooks', [self::class, 'topicHooks'], 10, 2);
        add_filter('woocommerce_webhook_payload', [self::class, 'payload'], 10, 4);
    }

    /** The webhook admin's topic dropdown. */
    public static function topics(mixed $topics): array
    {
        $topics = is_array($topics) ? $topics : [];
        $topics[self::TOPIC] = __('بازگشت: سبد خرید به‌روز شد', 'bazgasht');
        return $topics;
    }

    /** wc_is_webhook_valid_topic() accepts `resource.event` only for resources listed here. */
    public static function resources(mixed $resources): array
    {
        $resources = is_array($resources) ? $resources : [];
        if (!in_array(self::RESOURCE, $resources, true)) {
            $resources[] = self::RESOURCE;
        }
        return $resources;
    }

    /** WC_Webhook::get_hooks(): which actions make a webhook of this topic deliver. */
    public static function topicHooks(mixed $topicHooks, mixed $webhook = null): array
    {
        $topicHooks = is_array($topicHooks) ? $topicHooks : [];
        $topicHooks[self::TOPIC] = [self::ACTION];
        return $topicHooks;
    }

    /** WC_Webhook::build_payload(): for our resource, the body of the cart named by the token. */
    public static function payload(
        mixed $payload,
        mixed $resource = '',
        mixed $resourceId = '',
        mixed $webhookId = 0
    ): mixed {
        if ($resource !== self::RESOURCE) {
            return $payload;
        }
        return self::bodyFor((string) $resourceId);
    }

    /** The body for $token from the table; a cart the plugin no longer has says consent: false. */
    public static function bodyFor(string $token): array
    {
        $row = CartStore::find($token);
        return $row !== null ? self::body($row) : self::body(['token' => $token, 'consent' => false]);
    }

    /**
     * The body of docs/plugin.md from a cart row. Without consent it carries nothing personal and
     * no items: bazgasht erases what it held and sends that cart nothing more.
     *
     * @return array<string, mixed>
     */
    public static function body(array $row): array
    {
        $consent = (bool) ($row['consent'] ?? true);
        $phone = $consent ? (string) ($row['phone'] ?? '') : '';
        $currency = (string) ($row['currency'] ?? '');
        return [
            'token' => (string) ($row['token'] ?? ''),
            'phone' => $phone !== '' ? $phone : null,
            'first_name' => $consent ? (string) ($row['first_name'] ?? '') : '',
            'last_name' => $consent ? (string) ($row['last_name'] ?? '') : '',
            'email' => $consent ? (string) ($row['email'] ?? '') : '',
            'items' => $consent ? self::items((array) ($row['items'] ?? [])) : [],
            'total' => $consent ? self::decimal($row['total'] ?? '0') : '0',
            'currency' => $currency !== '' ? $currency : get_woocommerce_currency(),
            'consent' => $consent,
            'restore_url' => home_url('/'),
            'cart_url' => wc_get_cart_url(),
            'date_modified_gmt' => (string) ($row['modified_gmt'] ?? Clock::gmt()),
        ];
    }

    /** What WooCommerce delivers: WC_Webhook::deliver() sends trim(wp_json_encode($payload)). */
    public static function encode(array $body): string
    {
        return trim((string) wp_json_encode($body));
    }

    /** The row's payload_sha256: the SHA-256 of the delivered bytes. */
    public static function sha256(array $body): string
    {
        return hash('sha256', self::encode($body));
    }

    /** Items in the exact shape bazgasht's parser takes; any it would refuse is left out. */
    private static function items(array $items): array
    {
        $out = [];
        foreach ($items as $item) {
            if (!is_array($item)) {
                continue;
            }
            $productId = (int) ($item['product_id'] ?? 0);
            $quantity = $item['quantity'] ?? 0;
            $quantity = is_int($quantity) || is_float($quantity) ? $quantity : (float) $quantity;
            if ((float) $quantity == (int) $quantity) {
                $quantity = (int) $quantity;
            }
            if ($productId <= 0 || $quantity <= 0 || !is_finite((float) $quantity)) {
                continue;
            }
            $out[] = [
                'product_id' => $productId,
                'variation_id' => max(0, (int) ($item['variation_id'] ?? 0)),
                'name' => (string) ($item['name'] ?? ''),
                'quantity' => $quantity,
                'price' => self::decimal($item['price'] ?? '0'),
                'total' => self::decimal($item['total'] ?? '0'),
            ];
        }
        return $out;
    }

    private static function decimal(mixed $amount): string
    {
        $amount = is_scalar($amount) ? (string) $amount : '';
        return is_numeric($amount) ? $amount : '0';
    }
}
