<?php

/**
 * Restore links: `?bazgasht_restore=<token>` on any page rebuilds the cart the SMS was about,
 * then redirects (303, no-cache, UTM parameters kept) with a Persian notice. Four outcomes:
 * restored → checkout; partly available → checkout (the cart if nothing could be added);
 * already ordered (and paid) → the shop; expired or forged → the cart page, with nothing restored.
 *
 * @package Bazgasht
 */

declare(strict_types=1);

namespace Bazgasht;

final class Restore
{
    public const PARAM = 'bazgasht_restore';
    public const RESTORED = 'restored';
    public const PARTLY = 'partly';
    public const ORDERED = 'ordered';
    public const INVALID = 'invalid';
    /** UTM parameters kept on the redirect, at most this many. */
    private const MAX_UTM = 10;

    /** Tests replace how the request ends (production: exit after the redirect). */
    public static $exit = null;

    public static function register(): void
    {
        // wp_loaded: WooCommerce loaded the cart from the session at priority 5 and handled
        // add-to-cart forms at 20; nothing is printed yet, so the redirect can still be sent.
        add_action('wp_loaded', [self::class, 'handle'], 25);
    }

    public static function handle(): void
    {
        $raw = $_GET[self::PARAM] ?? null;
        if (!is_string($raw) || !function_exists('WC') || WC()->cart === null) {
            return;
        }
        $token = RestoreToken::verify((string) wp_unslash($raw));
        if ($token === null) {
            self::finish(self::INVALID, wc_get_cart_url());
            return;
        }
        $row = CartStore::find($token->cart);
        if ($row !== null && self::paid((int) $row['order_id'])) {
            self::finish(self::ORDERED, wc_get_page_permalink('shop'));
            return;
        }
        [$present, $missing] = self::rebuild($token);
        if ($token->coupon !== null && $present > 0 && !WC()->cart->has_discount($token->coupon)) {
            WC()->cart->apply_coupon($token->coupon);
        }
        Capture::adopt($token->cart);
        if ($row !== null && $row['consent']) {
            self::refill($row);
        }
        if ($missing === 0) {
            self::finish(self::RESTORED, wc_get_checkout_url());
        } else {
            self::finish(self::PARTLY, $present > 0 ? wc_get_checkout_url() : wc_get_cart_url());
        }
    }

    /**
     * An order placed from the cart and not paid (left at the bank's page, then cancelled by
     * WooCommerce) is exactly what a lost-order SMS refills the cart for.
     */
    private static function paid(int $orderId): bool
    {
        $order = $orderId > 0 ? wc_get_order($orderId) : false;
        return $order instanceof \WC_Order && $order->is_paid();
    }

    /**
     * The token's items into the cart, none twice: an item already there keeps its line and is
     * raised to the token's quantity if lower.
     *
     * @return array{int, int} [items in the cart now, items that could not be added]
     */
    private static function rebuild(RestoreToken $token): array
    {
        $cart = WC()->cart;
        $present = $missing = 0;
        foreach ($token->items as [$productId, $variationId, $quantity]) {
            $key = self::lineOf($productId, $variationId);
            if ($key !== null) {
                if ($cart->get_cart()[$key]['quantity'] < $quantity) {
                    $cart->set_quantity($key, $quantity);
                }
                $present++;
                continue;
            }
            $product = wc_get_product($variationId ?: $productId);
            // Checked first so WooCommerce's own English-ish errors do not join our notice.
            if (!$product || !$product->is_purchasable() || !$product->is_in_stock()) {
                $missing++;
                continue;
            }
            if ($cart->add_to_cart($productId, $quantity, $variationId) === false) {
                $missing++;
            } else {
                $present++;
            }
        }
        return [$present, $missing];
    }

    private static function lineOf(int $productId, int $variationId): ?string
    {
        foreach (WC()->cart->get_cart() as $key => $item) {
            $same = (int) ($item['product_id'] ?? 0) === $productId;
            if ($same && (int) ($item['variation_id'] ?? 0) === $variationId) {
                return (string) $key;
            }
        }
        return null;
    }

    /** The checkout's billing fields from the cart's row, where the customer has none yet. */
    private static function refill(array $row): void
    {
        $customer = WC()->customer;
        if (!is_object($customer)) {
            return;
        }
        $changed = false;
        foreach (['phone', 'first_name', 'last_name', 'email'] as $field) {
            $current = (string) $customer->{'get_billing_' . $field}();
            if ($current === '' && $row[$field] !== '') {
                $customer->{'set_billing_' . $field}($row[$field]);
                $changed = true;
            }
        }
        if ($changed) {
            $customer->save();
        }
    }

    private static function finish(string $outcome, string $url): void
    {
        $notices = [
            self::RESTORED => [__('سبد خریدتان برگشت؛ می‌توانید خریدتان را تمام کنید.', 'bazgasht'), 'success'],
            self::PARTLY => [
                __('بخشی از کالاهای سبد خریدتان دیگر موجود نیست؛ بقیه را به سبد برگرداندیم.', 'bazgasht'),
                'notice',
            ],
            self::ORDERED => [__('این سبد خرید پیش‌تر سفارش داده شده است.', 'bazgasht'), 'notice'],
            self::INVALID => [__('این پیوند سبد خرید معتبر نیست یا زمانش گذشته است.', 'bazgasht'), 'error'],
        ];
        nocache_headers();
        wc_add_notice(...$notices[$outcome]);
        wp_safe_redirect(self::withUtm($url), 303);
        $exit = self::$exit ?? static function (): void {
            exit;
        };
        $exit($outcome);
    }

    /** The link's utm_* parameters, so the shop's analytics still see the SMS as the source. */
    private static function withUtm(string $url): string
    {
        $utm = [];
        foreach ($_GET as $key => $value) {
            if (is_string($key) && str_starts_with($key, 'utm_') && is_string($value) && count($utm) < self::MAX_UTM) {
                $utm[sanitize_key($key)] = rawurlencode(sanitize_text_field((string) wp_unslash($value)));
            }
        }
        return $utm ? add_query_arg($utm, $url) : $url;
    }
}
