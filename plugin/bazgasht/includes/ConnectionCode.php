<?php

/**
 * The connection code bazgasht shows and the merchant pastes: `BZG1-` + base64url (no padding) of
 * {"url": delivery URL, "secret": webhook secret, "store": store name} (docs/plugin.md).
 *
 * @package Bazgasht
 */

declare(strict_types=1);

namespace Bazgasht;

final class ConnectionCode
{
    public const PREFIX = 'BZG1-';

    private function __construct(
        public readonly string $url,
        public readonly string $secret,
        public readonly string $store,
    ) {
    }

    /**
     * The code as pasted: a code copied from a panel or a message may arrive wrapped over
     * lines, indented, or with invisible direction marks around it, so all of that is dropped
     * before reading. Anything else wrong refuses the code with a message the merchant can act
     * on; no message repeats the secret.
     *
     * @throws \InvalidArgumentException with a Persian message.
     */
    public static function parse(string $pasted): self
    {
        // Whitespace (line breaks included) and zero-width / bidi marks (U+200B–U+200F,
        // U+202A–U+202E, U+2066–U+2069, U+FEFF) that RTL editors and messengers insert.
        $code = preg_replace('/[\s\x{200B}-\x{200F}\x{202A}-\x{202E}\x{2066}-\x{2069}\x{FEFF}]+/u', '', $pasted);
        if ($code === null || $code === '') {
            throw new \InvalidArgumentException(self::message('empty'));
        }
        if (!str_starts_with($code, self::PREFIX)) {
            throw new \InvalidArgumentException(self::message('prefix'));
        }
        $data = self::decode(substr($code, strlen(self::PREFIX)));
        if (
            !is_array($data) || array_is_list($data)
            || !is_string($data['url'] ?? null) || !is_string($data['secret'] ?? null)
            || !is_string($data['store'] ?? null)
        ) {
            throw new \InvalidArgumentException(self::message('garbled'));
        }
        if (!self::isDeliveryUrl($data['url'])) {
            throw new \InvalidArgumentException(self::message('url'));
        }
        if (preg_match('/^[A-Za-z0-9]{16,64}$/D', $data['secret']) !== 1) {
            throw new \InvalidArgumentException(self::message('secret'));
        }
        // The store name is only shown back to the merchant: one line of plain text, bounded.
        $store = mb_substr(trim((string) preg_replace('/[\x00-\x1F\x7F]+/u', ' ', $data['store'])), 0, 200);
        return new self($data['url'], $data['secret'], $store);
    }

    /** The delivery URL's host, what the settings page shows of where carts go. */
    public function host(): string
    {
        return (string) parse_url($this->url, PHP_URL_HOST);
    }

    /** @return array{url: string, secret: string, store: string} as kept in Options::CONNECTION. */
    public function toArray(): array
    {
        return ['url' => $this->url, 'secret' => $this->secret, 'store' => $this->store];
    }

    /** base64url without padding (padding tolerated) → the decoded JSON, or null. */
    private static function decode(string $encoded): mixed
    {
        $encoded = rtrim($encoded, '=');
        if ($encoded === '' || preg_match('/^[A-Za-z0-9_-]+$/D', $encoded) !== 1 || strlen($encoded) % 4 === 1) {
            return null;
        }
        $json = base64_decode(strtr($encoded, '-_', '+/'), true);
        if ($json === false || !mb_check_encoding($json, 'UTF-8')) {
            return null;
        }
        try {
            return json_decode($json, true, 8, JSON_THROW_ON_ERROR);
        } catch (\JsonException) {
            return null;
        }
    }

    /** http(s), a host, and nothing WordPress's HTTP API or esc_url_raw would mangle. */
    private static function isDeliveryUrl(string $url): bool
    {
        if (preg_match('/[\x00-\x20\x7F"<>\\\\]/', $url) === 1) {
            return false;
        }
        $parts = parse_url($url);
        return is_array($parts)
            && in_array(strtolower($parts['scheme'] ?? ''), ['http', 'https'], true)
            && ($parts['host'] ?? '') !== '';
    }

    private static function message(string $why): string
    {
        return match ($why) {
            'empty' => __('کد اتصال را از پنل بازگشت کپی کنید و اینجا بچسبانید.', 'bazgasht'),
            'prefix' => __(
                'این کد اتصال بازگشت نیست: کد اتصال با «BZG1-» شروع می‌شود. آن را دوباره از پنل بازگشت کپی کنید.',
                'bazgasht'
            ),
            'garbled' => __(
                'کد اتصال ناقص یا خراب است. آن را کامل و بدون تغییر از پنل بازگشت کپی کنید.',
                'bazgasht'
            ),
            'url' => __(
                'نشانی دریافت در کد اتصال معتبر نیست (باید http یا https با نام دامنه باشد). کد را دوباره کپی کنید.',
                'bazgasht'
            ),
            'secret' => __(
                'کلید مخفی در کد اتصال معتبر نیست (باید ۱۶ تا ۶۴ حرف و رقم انگلیسی باشد). کد را دوباره کپی کنید.',
                'bazgasht'
            ),
        };
    }
}
