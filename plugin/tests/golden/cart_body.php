<?php

/**
 * Golden: the exact bytes WooCommerce delivers for a cart row, and their signature.
 * stdin  {"secret": "...", "cart": {token, phone, first_name, last_name, email, items, total,
 *         currency, consent, modified_gmt}, "home": "https://shop.example/"}
 * stdout {"body_base64": "...", "signature": "..."}
 *
 * The row is stored through CartStore and the body built by CartTopic's payload filter, as
 * WC_Webhook::build_payload() calls it; WC_Webhook::deliver() sends trim(wp_json_encode()) of
 * it, signed base64_encode(hash_hmac('sha256', $body, wp_specialchars_decode($secret,
 * ENT_QUOTES), true)).
 */

declare(strict_types=1);

require __DIR__ . '/bootstrap.php';

use Bazgasht\CartStore;
use Bazgasht\CartTopic;
use Bazgasht\Clock;

$input = golden_input();
WP::reset();
WCStub::reset();
wpdb::reset();
WP::$home = (string) ($input['home'] ?? 'https://shop.example/');
Clock::set((int) ($input['now'] ?? 1700000000));
CartTopic::register();

$cart = is_array($input['cart'] ?? null) ? $input['cart'] : [];
if (!empty($cart['currency'])) {
    WCStub::$currency = (string) $cart['currency'];
}
CartStore::save(array_intersect_key($cart, array_flip(CartStore::COLUMNS)));
$payload = apply_filters('woocommerce_webhook_payload', [], CartTopic::RESOURCE, (string) ($cart['token'] ?? ''), 1);

$body = trim((string) wp_json_encode($payload));
$secret = htmlspecialchars_decode((string) ($input['secret'] ?? ''), ENT_QUOTES);
golden_output([
    'body_base64' => base64_encode($body),
    'signature' => base64_encode(hash_hmac('sha256', $body, $secret, true)),
]);
