<?php

/**
 * A restore token v1 (docs/plugin.md, "Restore tokens"): bazgasht mints it with the webhook
 * secret, the plugin verifies it. `<payload>.<signature>`, both base64url without padding.
 *
 * @package Bazgasht
 */

declare(strict_types=1);

namespace Bazgasht;

final class RestoreToken
{
    /** Why a token restores nothing: the signature is not ours (or no secret is set)… */
    public const FORGED = 'forged';
    /** …it was ours but its time is over… */
    public const EXPIRED = 'expired';
    /** …or it is not a v1 token at all. */
    public const MALFORMED = 'malformed';

    /** The domain separation of the signature: a webhook body's HMAC never verifies as a token. */
    private const CONTEXT = 'bazgasht-restore.';
    /** Nothing honest is longer; a bigger parameter is not worth decoding. */
    private const MAX_LENGTH = 8192;

    /**
     * @param list<array{int, int, int|float}> $items [product_id, variation_id, quantity]
     */
    private function __construct(
        public readonly string $cart,
        public readonly array $items,
        public readonly ?string $coupon,
        public readonly int $exp
    ) {
    }

    /**
     * The token if it holds, else null with $why set (FORGED, EXPIRED or MALFORMED): either way
     * nothing is restored.
     */
    public static function verify(string $raw, ?string &$why = null): ?self
    {
        $why = null;
        $parts = explode('.', trim($raw));
        if (strlen($raw) > self::MAX_LENGTH || count($parts) !== 2) {
            $why = self::MALFORMED;
            return null;
        }
        [$payload, $signature] = $parts;
        $given = self::base64urlDecode($signature);
        if ($payload === '' || $given === null || self::base64urlDecode($payload) === null) {
            $why = self::MALFORMED;
            return null;
        }
        $secret = Options::secret();
        if ($secret === null || $secret === '') {
            $why = self::FORGED;
            return null;
        }
        $expected = hash_hmac('sha256', self::CONTEXT . $payload, $secret, true);
        if (!hash_equals($expected, $given)) {
            $why = self::FORGED;
            return null;
        }
        $data = json_decode((string) self::base64urlDecode($payload), true);
        $token = is_array($data) ? self::fromData($data) : null;
        if ($token === null) {
            $why = self::MALFORMED;
            return null;
        }
        if ($token->exp <= Clock::now()) {
            $why = self::EXPIRED;
            return null;
        }
        return $token;
    }

    private static function fromData(array $data): ?self
    {
        if (($data['v'] ?? null) !== 1 || !is_int($data['exp'] ?? null)) {
            return null;
        }
        $cart = $data['cart'] ?? null;
        if (!is_string($cart) || !preg_match('/^[A-Za-z0-9_-]{8,64}$/', $cart)) {
            return null;
        }
        $coupon = $data['coupon'] ?? null;
        if ($coupon !== null && (!is_string($coupon) || $coupon === '')) {
            return null;
        }
        $items = $data['items'] ?? null;
        if (!is_array($items) || !array_is_list($items)) {
            return null;
        }
        foreach ($items as $item) {
            if (!self::isItem($item)) {
                return null;
            }
        }
        return new self($cart, $items, $coupon, $data['exp']);
    }

    /** [int > 0, int ≥ 0, number > 0]; JSON true is no number. */
    private static function isItem(mixed $item): bool
    {
        if (!is_array($item) || !array_is_list($item) || count($item) !== 3) {
            return false;
        }
        [$product, $variation, $quantity] = $item;
        return is_int($product) && $product > 0
            && is_int($variation) && $variation >= 0
            && (is_int($quantity) || (is_float($quantity) && is_finite($quantity))) && $quantity > 0;
    }

    /** Strict base64url without padding: any other character makes it no token. */
    private static function base64urlDecode(string $text): ?string
    {
        if (!preg_match('/^[A-Za-z0-9_-]*$/', $text) || strlen($text) % 4 === 1) {
            return null;
        }
        $decoded = base64_decode(strtr($text, '-_', '+/'), true);
        return $decoded === false ? null : $decoded;
    }
}
