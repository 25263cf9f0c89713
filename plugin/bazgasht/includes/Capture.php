<?php

/**
 * Capture on the storefront: which cart a shopper has and how to reach them.
 *
 * Cart changes and contact details are gathered while a request runs and synced once, at its
 * end (`shutdown`, priority 5): by then every change of the request is done (AJAX add, Store API
 * route, form post, checkout), WooCommerce's webhook queue has not yet run (it is hooked on
 * `shutdown` at 10, so a delivery our action asks for is queued in this same request) and the
 * WooCommerce session is not yet saved (`shutdown` at 20, so a new cart token is kept). A body
 * that did not change delivers nothing.
 *
 * Bots: no cart row is created unless the session is marked human (the plugin's script ran, or
 * a Store API request came) or a phone came from a form.
 *
 * @package Bazgasht
 */

declare(strict_types=1);

namespace Bazgasht;

final class Capture
{
    /** WooCommerce session keys (docs/plugin.md). */
    public const TOKEN = 'bazgasht_cart_token';
    public const HUMAN = 'bazgasht_human';
    /** What the shopper typed or Store API set: phone, email, first_name, last_name, consent. */
    public const CONTACT = 'bazgasht_contact';
    /** The items of the cart an order was just placed from: no new cart token for them. */
    public const ORDERED = 'bazgasht_ordered';

    /** WooCommerce's own AJAX: /?wc-ajax=bazgasht_capture. */
    public const ENDPOINT = 'bazgasht_capture';
    public const RATE_LIMIT = 30;
    public const RATE_WINDOW = 600;
    /** Bytes of a request body the endpoint reads; characters of one field. */
    public const MAX_BODY = 4096;
    public const MAX_FIELD = 200;

    /** The cart actions of WC_Cart (classic and Store API alike). */
    public const CART_HOOKS = [
        'woocommerce_add_to_cart',
        'woocommerce_after_cart_item_quantity_update',
        'woocommerce_cart_item_removed',
        'woocommerce_applied_coupon',
        'woocommerce_removed_coupon',
        'woocommerce_cart_emptied',
    ];

    /** Store API routes whose billing phone is made ASCII before WooCommerce validates it. */
    private const PHONE_ROUTES = '#^/wc/store(?:/v1)?/(?:checkout|cart/update-customer)/?$#';

    /** Tests replace how a JSON answer ends the request (wp_send_json prints and dies). */
    public static $respond = null;

    private static bool $dirty = false;
    private static bool $synced = false;
    private static bool $phoneFromForm = false;

    public static function register(): void
    {
        foreach (self::CART_HOOKS as $hook) {
            add_action($hook, [self::class, 'touch'], 10, 0);
        }
        add_action('woocommerce_cart_emptied', [self::class, 'emptied'], 10, 0);
        add_action('woocommerce_store_api_cart_update_customer_from_request', [self::class, 'fromStoreApi'], 10, 2);
        add_action('woocommerce_store_api_checkout_update_customer_from_request', [self::class, 'fromStoreApi'], 10, 2);
        add_action('wc_ajax_' . self::ENDPOINT, [self::class, 'endpoint']);
        add_filter('woocommerce_checkout_posted_data', [self::class, 'postedData']);
        add_filter('rest_request_before_callbacks', [self::class, 'beforeRestCallbacks'], 10, 3);
        add_action('wp_enqueue_scripts', [self::class, 'enqueue']);
        add_action('shutdown', [self::class, 'sync'], 5);
    }

    /** A new request (tests): nothing gathered yet. */
    public static function reset(): void
    {
        self::$dirty = self::$synced = self::$phoneFromForm = false;
        self::$respond = null;
    }

    /** Something of the cart changed in this request. */
    public static function touch(): void
    {
        self::$dirty = true;
        if (self::isStoreApiRequest()) {
            self::markHuman();
        }
    }

    /** The cart was emptied (after payment, or by the shopper): whatever comes next is new. */
    public static function emptied(): void
    {
        self::session()?->set(self::ORDERED, null);
    }

    /**
     * Block checkout set the customer's address from the request:
     * do_action('woocommerce_store_api_cart_update_customer_from_request', WC_Customer $customer,
     *           WP_REST_Request $request).
     */
    public static function fromStoreApi(mixed $customer, mixed $request = null): void
    {
        if (!is_object($customer) || !method_exists($customer, 'get_billing_phone')) {
            return;
        }
        self::markHuman();
        self::remember([
            'phone' => (string) $customer->get_billing_phone(),
            'email' => (string) $customer->get_billing_email(),
            'first_name' => (string) $customer->get_billing_first_name(),
            'last_name' => (string) $customer->get_billing_last_name(),
        ]);
    }

    /** Classic checkout's posted fields (filter woocommerce_checkout_posted_data, before validation). */
    public static function postedData(mixed $data): mixed
    {
        if (!is_array($data)) {
            return $data;
        }
        if (isset($data['billing_phone']) && is_string($data['billing_phone'])) {
            $data['billing_phone'] = Digits::phone($data['billing_phone']);
        }
        $contact = [];
        foreach (['phone', 'email', 'first_name', 'last_name'] as $field) {
            if (isset($data['billing_' . $field]) && is_string($data['billing_' . $field])) {
                $contact[$field] = $data['billing_' . $field];
            }
        }
        self::remember($contact);
        return $data;
    }

    /**
     * Store API: the billing (and shipping) phone in ASCII digits before the route validates it.
     * apply_filters('rest_request_before_callbacks', $response, $handler, $request).
     */
    public static function beforeRestCallbacks(mixed $response, mixed $handler = null, mixed $request = null): mixed
    {
        if (!$request instanceof \WP_REST_Request || !preg_match(self::PHONE_ROUTES, $request->get_route())) {
            return $response;
        }
        foreach (['billing_address', 'shipping_address'] as $param) {
            $address = $request->get_param($param);
            if (is_array($address) && isset($address['phone']) && is_string($address['phone'])) {
                $address['phone'] = Digits::phone($address['phone']);
                $request->set_param($param, $address);
            }
        }
        return $response;
    }

    /**
     * /?wc-ajax=bazgasht_capture: the script's once-per-session ping (the session is human) and
     * the classic checkout's fields as they are typed. Not gated on a nonce: cached pages serve
     * stale ones. Rate-limited per IP and size-capped instead.
     */
    public static function endpoint(): void
    {
        if (!self::allow()) {
            self::respond(['ok' => false, 'error' => 'rate_limited'], 429);
            return;
        }
        if ((int) ($_SERVER['CONTENT_LENGTH'] ?? 0) > self::MAX_BODY) {
            self::respond(['ok' => false, 'error' => 'too_large'], 413);
            return;
        }
        $session = WC()->session;
        if ($session !== null && !$session->has_session()) {
            $session->set_customer_session_cookie(true);
        }
        self::markHuman();
        $contact = [];
        foreach (['phone', 'email', 'first_name', 'last_name'] as $field) {
            $value = $_POST[$field] ?? null;
            if (is_string($value)) {
                $contact[$field] = mb_substr((string) wp_unslash($value), 0, self::MAX_FIELD);
            }
        }
        self::remember($contact);
        $consent = $_POST['consent'] ?? null;
        if (is_string($consent) && in_array($consent, ['0', '1'], true)) {
            self::setConsent($consent === '1');
        }
        self::$dirty = true;
        self::respond(['ok' => true], 200);
    }

    /** The shopper's answer to the consent box (Consent calls this). */
    public static function setConsent(bool $consent): void
    {
        $contact = self::contact();
        $contact['consent'] = $consent;
        self::session()?->set(self::CONTACT, $contact);
        self::$dirty = true;
    }

    /** The shopper's consent as it stands: their answer, else the box's default. */
    public static function consent(): bool
    {
        $settings = Options::settings();
        if (!$settings['consent_enabled']) {
            return true;  // No box: the merchant's own terms cover the reminders.
        }
        $answer = self::contact()['consent'] ?? null;
        return is_bool($answer) ? $answer : (bool) $settings['consent_default'];
    }

    /** The phone known for this session's shopper (typed, or the customer's billing phone). */
    public static function knownPhone(): string
    {
        return self::contactFor()['phone'];
    }

    public static function enqueue(): void
    {
        $settings = Options::settings();
        if (!$settings['capture_checkout'] && !$settings['phone_prompt']) {
            return;
        }
        wp_enqueue_script(
            'bazgasht-capture',
            plugins_url('assets/capture.js', dirname(__DIR__) . '/bazgasht.php'),
            [],
            defined('BAZGASHT_VERSION') ? BAZGASHT_VERSION : null,
            ['in_footer' => true, 'strategy' => 'defer']
        );
        $config = [
            'endpoint' => \WC_AJAX::get_endpoint(self::ENDPOINT),
            'checkout' => (bool) $settings['capture_checkout'],
            'thanks' => __('ممنون! سبد خریدتان برایتان نگه داشته می‌شود.', 'bazgasht'),
        ];
        wp_add_inline_script('bazgasht-capture', 'window.bazgashtCapture = ' . wp_json_encode($config) . ';', 'before');
    }

    /**
     * The end of the request: the cart as it is now, saved and announced when its body changed.
     * At most once per request.
     */
    public static function sync(): void
    {
        if (!self::$dirty || self::$synced || !function_exists('WC')) {
            return;
        }
        self::$synced = true;
        $session = self::session();
        if ($session === null || WC()->cart === null) {
            return;
        }
        if (!$session->get(self::HUMAN) && !self::$phoneFromForm) {
            return;  // A bot (or a browser that never ran the script): no row.
        }
        $contact = self::contactFor();
        $items = self::items();
        $consent = self::consent();
        $token = (string) $session->get(self::TOKEN, '');
        $row = $token !== '' ? CartStore::find($token) : null;
        if ($row !== null && $row['order_id'] > 0) {
            $token = '';  // That cart became an order: this one is new.
            $row = null;
        }
        if ($token === '') {
            if ((!$items && $contact['phone'] === '') || !$consent) {
                return;  // Nothing worth keeping, or the shopper said no.
            }
            if ($session->get(self::ORDERED) === self::itemsKey($items)) {
                return;  // The cart just ordered, still there while the payment is pending.
            }
            $token = self::newToken();
            $session->set(self::TOKEN, $token);
        }
        $next = [
            'token' => $token,
            'session_key' => (string) $session->get_customer_id(),
            'currency' => get_woocommerce_currency(),
            'consent' => $consent,
            'modified_gmt' => $row['modified_gmt'] ?? Clock::gmt(),
        ] + ($consent ? $contact + [
            'items' => $items,
            'total' => wc_format_decimal(WC()->cart->get_total('edit'), wc_get_price_decimals()),
        ] : ['phone' => '', 'first_name' => '', 'last_name' => '', 'email' => '', 'items' => [], 'total' => '0']);
        if ($row !== null && hash_equals($row['payload_sha256'], CartTopic::sha256(CartTopic::body($next)))) {
            return;  // Same body as last delivered: nothing to say.
        }
        $next['modified_gmt'] = Clock::gmt();
        $next['payload_sha256'] = CartTopic::sha256(CartTopic::body($next));
        CartStore::save($next);
        do_action(CartTopic::ACTION, $token);
    }

    /** An order was placed from this session's cart: the next cart gets a new token. */
    public static function orderPlaced(int $orderId): void
    {
        $session = self::session();
        if ($session === null) {
            return;
        }
        CartStore::markOrdered((string) $session->get(self::TOKEN, ''), $orderId);
        $session->set(self::TOKEN, null);
        $session->set(self::ORDERED, self::itemsKey(self::items()));
    }

    /** Adopts a cart token (a restore link's): the order placed from this cart carries it. */
    public static function adopt(string $token): void
    {
        self::session()?->set(self::TOKEN, $token);
        self::session()?->set(self::ORDERED, null);
    }

    /** Contact details gathered in this request, kept in the session (phone as ASCII digits). */
    public static function remember(array $fields): void
    {
        $clean = [];
        foreach (['phone', 'email', 'first_name', 'last_name'] as $field) {
            if (!isset($fields[$field]) || !is_string($fields[$field])) {
                continue;
            }
            $value = sanitize_text_field(mb_substr($fields[$field], 0, self::MAX_FIELD));
            if ($field === 'phone') {
                $value = substr(Digits::phone($value), 0, 32);
            } elseif ($field === 'email' && $value !== '' && !is_email($value)) {
                continue;  // Half-typed: keep what we had.
            }
            $clean[$field] = $value;
        }
        if (!$clean) {
            return;
        }
        if (($clean['phone'] ?? '') !== '') {
            self::$phoneFromForm = true;
        }
        self::session()?->set(self::CONTACT, array_replace(self::contact(), $clean));
        self::$dirty = true;
    }

    private static function markHuman(): void
    {
        self::session()?->set(self::HUMAN, true);
    }

    /** Store API (block cart and checkout): WooCommerce's REST request under wc/store. */
    private static function isStoreApiRequest(): bool
    {
        if (!function_exists('WC') || !WC()->is_rest_api_request()) {
            return false;
        }
        $route = (string) ($_GET['rest_route'] ?? '') . ' ' . (string) ($_SERVER['REQUEST_URI'] ?? '');
        return str_contains($route, '/wc/store');
    }

    /** @return array{phone: string, email: string, first_name: string, last_name: string} */
    private static function contactFor(): array
    {
        $typed = self::contact();
        $customer = function_exists('WC') ? WC()->customer : null;
        $fallback = static fn (string $getter): string => is_object($customer) ? (string) $customer->$getter() : '';
        $pick = static fn (string $field, string $getter): string => ($typed[$field] ?? '') !== ''
            ? (string) $typed[$field] : $fallback($getter);
        return [
            'phone' => Digits::phone($pick('phone', 'get_billing_phone')),
            'email' => $pick('email', 'get_billing_email'),
            'first_name' => $pick('first_name', 'get_billing_first_name'),
            'last_name' => $pick('last_name', 'get_billing_last_name'),
        ];
    }

    private static function contact(): array
    {
        $contact = self::session()?->get(self::CONTACT, []);
        return is_array($contact) ? $contact : [];
    }

    /** The cart's items in the body's shape (amounts as store decimals). */
    private static function items(): array
    {
        $decimals = wc_get_price_decimals();
        $items = [];
        foreach (WC()->cart?->get_cart() ?? [] as $item) {
            $product = $item['data'] ?? null;
            $quantity = $item['quantity'] ?? 0;
            $quantity = is_int($quantity) || is_float($quantity) ? $quantity : (float) $quantity;
            $price = is_object($product) ? (string) $product->get_price() : '';
            $line = isset($item['line_total'])
                ? (float) $item['line_total'] + (float) ($item['line_tax'] ?? 0)
                : (float) $price * $quantity;
            $items[] = [
                'product_id' => (int) ($item['product_id'] ?? 0),
                'variation_id' => (int) ($item['variation_id'] ?? 0),
                'name' => is_object($product) ? (string) $product->get_name() : '',
                'quantity' => $quantity,
                'price' => wc_format_decimal($price === '' ? 0 : $price, $decimals),
                'total' => wc_format_decimal($line, $decimals),
            ];
        }
        return $items;
    }

    private static function itemsKey(array $items): string
    {
        $key = array_map(static fn (array $i) => [$i['product_id'], $i['variation_id'], $i['quantity']], $items);
        return hash('sha256', (string) wp_json_encode($key));
    }

    /** 32 characters [A-Za-z0-9] from random_bytes. */
    private static function newToken(): string
    {
        $alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
        $token = '';
        while (strlen($token) < 32) {
            $byte = ord(random_bytes(1));
            if ($byte < 248) {  // 248 = 4 × 62: no bias toward the first letters.
                $token .= $alphabet[$byte % 62];
            }
        }
        return $token;
    }

    /**
     * Counts this IP's requests in a 10-minute window (a transient; the IP itself is not kept).
     * REMOTE_ADDR, not a forwarded header anyone can write; a store behind a CDN or proxy
     * names its visitors' address with the filter `bazgasht_capture_client_ip`.
     */
    private static function allow(): bool
    {
        $ip = (string) apply_filters('bazgasht_capture_client_ip', (string) ($_SERVER['REMOTE_ADDR'] ?? ''));
        $ip = (string) filter_var($ip, FILTER_VALIDATE_IP);
        $key = 'bazgasht_rl_' . substr(hash('sha256', $ip), 0, 24);
        $now = Clock::now();
        $entry = get_transient($key);
        if (!is_array($entry) || (int) ($entry['until'] ?? 0) <= $now) {
            $entry = ['n' => 0, 'until' => $now + self::RATE_WINDOW];
        }
        if ($entry['n'] >= self::RATE_LIMIT) {
            return false;
        }
        $entry['n']++;
        set_transient($key, $entry, max(1, $entry['until'] - $now));
        return true;
    }

    private static function respond(array $data, int $status): void
    {
        $respond = self::$respond ?? static function (array $data, int $status): void {
            wp_send_json($data, $status);
        };
        $respond($data, $status);
    }

    private static function session(): ?object
    {
        return function_exists('WC') ? WC()->session : null;
    }
}
