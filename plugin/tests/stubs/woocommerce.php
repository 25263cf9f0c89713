<?php

/**
 * WooCommerce as the storefront half of the plugin meets it: WC() with a cart, a session and a
 * customer, products, orders with meta, notices and the URL helpers. WCStub::reset() between
 * tests.
 *
 * The fake cart fires the actions the real WC_Cart fires, with the real signatures:
 *   do_action('woocommerce_add_to_cart', $cart_item_key, $product_id, $quantity, $variation_id,
 *             $variation, $cart_item_data);
 *   do_action('woocommerce_after_cart_item_quantity_update', $cart_item_key, $quantity,
 *             $old_quantity, $cart);
 *   do_action('woocommerce_cart_item_removed', $cart_item_key, $cart);
 *   do_action('woocommerce_applied_coupon', $coupon_code);
 *   do_action('woocommerce_removed_coupon', $coupon_code);
 *   do_action('woocommerce_cart_emptied', $clear_persistent_cart);
 * and, like WC_Cart, keeps its totals calculated after each change (the real cart hooks
 * calculate_totals at priority 20 on add, coupon and remove).
 */

declare(strict_types=1);

final class WCStub
{
    /** @var array<int, WC_Product> */
    public static array $products = [];
    /** @var array<int, WC_Order> what wc_get_order() finds */
    public static array $orders = [];
    /** @var list<array{string, string}> [message, type] */
    public static array $notices = [];
    /** @var list<array> what woocommerce_register_additional_checkout_field() was given */
    public static array $additionalFields = [];
    public static string $currency = 'IRT';
    public static int $decimals = 0;

    public static function reset(): void
    {
        self::$products = self::$notices = self::$additionalFields = self::$orders = [];
        self::$currency = 'IRT';
        self::$decimals = 0;
        WooCommerce::$instance = new WooCommerce();
    }

    public static function product(int $id, string $name, string $price, int $parent = 0): WC_Product
    {
        return self::$products[$id] = new WC_Product($id, $name, $price, $parent);
    }
}

class WooCommerce
{
    public static ?WooCommerce $instance = null;
    public WC_Cart $cart;
    public WC_Session_Handler $session;
    public WC_Customer $customer;
    /** The request came to the REST API (WooCommerce::is_rest_api_request()). */
    public bool $rest = false;

    public function __construct()
    {
        $this->cart = new WC_Cart();
        $this->session = new WC_Session_Handler();
        $this->customer = new WC_Customer();
    }

    public function is_rest_api_request(): bool
    {
        return $this->rest;
    }
}

function WC(): WooCommerce
{
    return WooCommerce::$instance ??= new WooCommerce();
}

class WC_Product
{
    public bool $purchasable = true;
    public bool $inStock = true;

    public function __construct(public int $id, public string $name, public string $price, public int $parent = 0)
    {
    }

    public function get_id(): int
    {
        return $this->id;
    }

    public function get_parent_id(): int
    {
        return $this->parent;
    }

    public function get_name(): string
    {
        return $this->name;
    }

    public function get_price(string $context = 'view'): string
    {
        return $this->price;
    }

    public function is_purchasable(): bool
    {
        return $this->purchasable;
    }

    public function is_in_stock(): bool
    {
        return $this->inStock;
    }
}

function wc_get_product(mixed $id = false): WC_Product|null|false
{
    return WCStub::$products[(int) $id] ?? false;
}

class WC_Cart
{
    /** @var array<string, array> */
    public array $cart_contents = [];
    /** @var list<string> */
    public array $applied_coupons = [];
    public float $total = 0.0;

    /** WC_Cart::add_to_cart(): the item's key, or false (not purchasable, out of stock, unknown). */
    public function add_to_cart(
        int $product_id = 0,
        int|float $quantity = 1,
        int $variation_id = 0,
        array $variation = [],
        array $cart_item_data = []
    ): string|false {
        $product = wc_get_product($variation_id ?: $product_id);
        if (!$product || !$product->is_purchasable() || !$product->is_in_stock() || $quantity <= 0) {
            return false;
        }
        $key = md5($product_id . ':' . $variation_id . ':' . wp_json_encode($variation));
        if (isset($this->cart_contents[$key])) {
            $this->cart_contents[$key]['quantity'] += $quantity;
        } else {
            $this->cart_contents[$key] = [
                'key' => $key,
                'product_id' => $product_id,
                'variation_id' => $variation_id,
                'variation' => $variation,
                'quantity' => $quantity,
                'data' => $product,
            ];
        }
        do_action('woocommerce_add_to_cart', $key, $product_id, $quantity, $variation_id, $variation, $cart_item_data);
        $this->calculate_totals();
        return $key;
    }

    public function set_quantity(string $cart_item_key, int|float $quantity = 1, bool $refresh_totals = true): bool
    {
        if ($quantity <= 0) {
            return $this->remove_cart_item($cart_item_key);
        }
        $old = $this->cart_contents[$cart_item_key]['quantity'];
        $this->cart_contents[$cart_item_key]['quantity'] = $quantity;
        do_action('woocommerce_after_cart_item_quantity_update', $cart_item_key, $quantity, $old, $this);
        $this->calculate_totals();
        return true;
    }

    public function remove_cart_item(string $cart_item_key): bool
    {
        unset($this->cart_contents[$cart_item_key]);
        do_action('woocommerce_cart_item_removed', $cart_item_key, $this);
        $this->calculate_totals();
        return true;
    }

    public function apply_coupon(string $coupon_code): bool
    {
        $this->applied_coupons[] = $coupon_code;
        do_action('woocommerce_applied_coupon', $coupon_code);
        $this->calculate_totals();
        return true;
    }

    public function remove_coupon(string $coupon_code): bool
    {
        $this->applied_coupons = array_values(array_diff($this->applied_coupons, [$coupon_code]));
        do_action('woocommerce_removed_coupon', $coupon_code);
        $this->calculate_totals();
        return true;
    }

    public function has_discount(string $coupon_code = ''): bool
    {
        return in_array($coupon_code, $this->applied_coupons, true);
    }

    public function get_applied_coupons(): array
    {
        return $this->applied_coupons;
    }

    public function empty_cart(bool $clear_persistent_cart = true): void
    {
        $this->cart_contents = [];
        $this->applied_coupons = [];
        $this->total = 0.0;
        do_action('woocommerce_cart_emptied', $clear_persistent_cart);
    }

    public function get_cart(): array
    {
        return $this->cart_contents;
    }

    public function is_empty(): bool
    {
        return !$this->cart_contents;
    }

    public function get_total(string $context = 'view'): string
    {
        return (string) $this->total;
    }

    public function calculate_totals(): void
    {
        $this->total = 0.0;
        foreach ($this->cart_contents as $key => $item) {
            $line = (float) $item['data']->get_price() * $item['quantity'];
            $this->cart_contents[$key]['line_total'] = $line;
            $this->cart_contents[$key]['line_tax'] = 0;
            $this->total += $line;
        }
    }
}

class WC_Session_Handler
{
    /** @var array<string, mixed> */
    public array $data = [];
    public bool $cookie = false;
    public string $customerId = 't_0123456789abcdef';

    public function get(string $key, mixed $default = null): mixed
    {
        return $this->data[$key] ?? $default;
    }

    public function set(string $key, mixed $value): void
    {
        $this->data[$key] = $value;
    }

    public function __unset(string $key): void
    {
        unset($this->data[$key]);
    }

    public function has_session(): bool
    {
        return $this->cookie;
    }

    public function set_customer_session_cookie(bool $set): void
    {
        $this->cookie = $set;
    }

    public function get_customer_id(): string
    {
        return $this->customerId;
    }
}

class WC_Data
{
    /** @var array<string, mixed> */
    public array $meta = [];
    public int $saves = 0;

    public function update_meta_data(string $key, mixed $value, int|string $meta_id = 0): void
    {
        $this->meta[$key] = $value;
    }

    public function get_meta(string $key = '', bool $single = true, string $context = 'view'): mixed
    {
        return $this->meta[$key] ?? '';
    }

    public function delete_meta_data(string $key): void
    {
        unset($this->meta[$key]);
    }

    public function save(): int
    {
        $this->saves++;
        return 0;
    }
}

class WC_Customer extends WC_Data
{
    /** @var array<string, string> billing_* fields */
    public array $billing = ['phone' => '', 'email' => '', 'first_name' => '', 'last_name' => ''];

    public function get_billing_phone(): string
    {
        return $this->billing['phone'];
    }

    public function get_billing_email(): string
    {
        return $this->billing['email'];
    }

    public function get_billing_first_name(): string
    {
        return $this->billing['first_name'];
    }

    public function get_billing_last_name(): string
    {
        return $this->billing['last_name'];
    }

    public function set_billing_phone(string $value): void
    {
        $this->billing['phone'] = $value;
    }

    public function set_billing_email(string $value): void
    {
        $this->billing['email'] = $value;
    }

    public function set_billing_first_name(string $value): void
    {
        $this->billing['first_name'] = $value;
    }

    public function set_billing_last_name(string $value): void
    {
        $this->billing['last_name'] = $value;
    }
}

class WC_Order extends WC_Data
{
    public function __construct(public int $id = 0, public string $status = 'pending')
    {
    }

    public function get_id(): int
    {
        return $this->id;
    }

    /** WC_Order::is_paid(): its status is one of wc_get_is_paid_statuses() (processing, completed). */
    public function is_paid(): bool
    {
        return in_array($this->status, ['processing', 'completed'], true);
    }
}

/** wc_get_order(): the order, or false. */
function wc_get_order(mixed $id = false): WC_Order|false
{
    return WCStub::$orders[(int) $id] ?? false;
}

// phpcs:ignore Squiz.Classes.ValidClassName.NotCamelCaps
class WC_AJAX
{
    /** WC_AJAX::get_endpoint(): a relative URL, '/?wc-ajax=<request>'. */
    public static function get_endpoint(string $request = ''): string
    {
        return '/?wc-ajax=' . rawurlencode($request);
    }
}

function wc_add_notice(string $message, string $notice_type = 'success', array $data = []): void
{
    WCStub::$notices[] = [$message, $notice_type];
}

function wc_get_cart_url(): string
{
    return home_url('/cart/');
}

function wc_get_checkout_url(): string
{
    return home_url('/checkout/');
}

function wc_get_page_permalink(string $page, mixed $fallback = null): string
{
    return home_url('/' . $page . '/');
}

function get_woocommerce_currency(): string
{
    return WCStub::$currency;
}

function wc_get_price_decimals(): int
{
    return WCStub::$decimals;
}

/** wc_format_decimal(): a number as a plain decimal string, rounded to $dp when given. */
function wc_format_decimal(mixed $number, mixed $dp = false, bool $trim_zeros = false): string
{
    $number = (string) $number;
    if ($number === '') {
        return '';
    }
    if ($dp !== false) {
        $number = number_format((float) $number, (int) $dp, '.', '');
    }
    if ($trim_zeros && str_contains($number, '.')) {
        $number = rtrim(rtrim($number, '0'), '.');
    }
    return $number;
}

/** Prints the field as WooCommerce's template would (enough to see name, type and value). */
function woocommerce_form_field(string $key, array $args, mixed $value = null): string
{
    $html = sprintf(
        '<p class="form-row" id="%1$s_field"><label>'
            . '<input type="%2$s" name="%1$s" id="%1$s" value="1"%3$s /> %4$s</label></p>',
        esc_attr($key),
        esc_attr($args['type'] ?? 'text'),
        $value ? ' checked="checked"' : '',
        $args['label'] ?? ''
    );
    if (empty($args['return'])) {
        echo $html;
    }
    return $html;
}

function woocommerce_register_additional_checkout_field(array $options): void
{
    WCStub::$additionalFields[] = $options;
}

WCStub::reset();
