<?php

/**
 * What the deliveries of the plugin's webhook did, for the settings page's status box: WooCommerce
 * delivers in the background, so the merchant would otherwise never see a failure until
 * WooCommerce quietly disables the webhook.
 *
 * @package Bazgasht
 */

declare(strict_types=1);

namespace Bazgasht;

final class Status
{
    public const DELIVERY = 'delivery';
    public const PING = 'ping';
    /** How much of an error answer's body is kept: enough to recognise it, no more. */
    private const EXCERPT = 160;

    /**
     * Hooked to `woocommerce_webhook_delivery` ($http_args, $response, $duration, $arg,
     * $webhook_id), which fires after every webhook delivery of the store; only the plugin's own
     * webhook is recorded. $kind is PING when Connection::ping() records its check.
     */
    public static function record(
        mixed $httpArgs,
        mixed $response,
        mixed $duration = 0.0,
        mixed $arg = null,
        mixed $webhookId = 0,
        string $kind = self::DELIVERY
    ): void {
        $ours = (int) get_option(Options::WEBHOOK_ID, 0);
        if ($ours === 0 || (int) $webhookId !== $ours) {
            return;
        }
        $before = self::get();
        if (is_wp_error($response)) {
            $code = 0;
            $error = self::redact((string) $response->get_error_message());
        } else {
            $code = (int) wp_remote_retrieve_response_code($response);
            $error = $code >= 200 && $code < 300
                ? ''
                : 'HTTP ' . $code . ': ' . self::excerpt(wp_remote_retrieve_body($response));
        }
        $ok = $error === '';
        $failures = (int) ($before['failures'] ?? 0);
        if ($kind === self::DELIVERY) {
            $failures = $ok ? 0 : $failures + 1;
        }
        update_option(Options::STATUS, [
            'time' => Clock::now(),
            'kind' => $kind,
            'code' => $code,
            'error' => $error,
            'failures' => $failures,
            'last_ok' => $ok ? Clock::now() : (int) ($before['last_ok'] ?? 0),
        ], false);
    }

    /** @return array{time?: int, kind?: string, code?: int, error?: string, failures?: int, last_ok?: int} */
    public static function get(): array
    {
        $saved = get_option(Options::STATUS, []);
        return is_array($saved) ? $saved : [];
    }

    /** What the last answer means and what to do about it, in Persian; null when it went well. */
    public static function explain(array $status): ?string
    {
        if (!isset($status['time']) || ($status['error'] ?? '') === '') {
            return null;
        }
        $code = (int) ($status['code'] ?? 0);
        return match (true) {
            $code === 0 => __(
                'سایت شما نتوانست به بازگشت وصل شود (شبکه، DNS، گواهی SSL یا دیوار آتش میزبان).',
                'bazgasht'
            ) . ' ' . __('اگر تکرار شد، از میزبان سایت بخواهید دسترسی به نشانی بازگشت را باز کند.', 'bazgasht'),
            $code === 401 => __('بازگشت امضای ارسال را نپذیرفت: کلید مخفی این سایت با بازگشت یکی نیست.', 'bazgasht')
                . ' ' . __('کد اتصال را دوباره از پنل بازگشت کپی کنید و اینجا ذخیره کنید.', 'bazgasht'),
            $code === 404 => __(
                'بازگشت این فروشگاه را نمی‌شناسد (نشانی دریافت اشتباه یا فروشگاه حذف شده است).',
                'bazgasht'
            ) . ' ' . __('کد اتصال را دوباره از پنل بازگشت کپی کنید.', 'bazgasht'),
            $code === 403 => __(
                'فروشگاه شما در بازگشت غیرفعال است. برای فعال شدن دوباره با پشتیبانی بازگشت تماس بگیرید.',
                'bazgasht'
            ),
            $code === 429 || $code >= 500 => __(
                'بازگشت موقتاً پاسخ نداد. سبدهای بعدی دوباره فرستاده می‌شوند؛ اگر ادامه داشت با پشتیبانی تماس بگیرید.',
                'bazgasht'
            ),
            default => __(
                'بازگشت این ارسال را نپذیرفت. اگر تکرار شد، متن خطا را برای پشتیبانی بازگشت بفرستید.',
                'bazgasht'
            ),
        };
    }

    /**
     * The webhook as WooCommerce has it: 'active', 'paused' (by an admin), 'disabled'
     * (WooCommerce does that after repeated failed deliveries), 'missing' (deleted in
     * WooCommerce), or 'none' when the store is not connected.
     */
    public static function webhookState(): string
    {
        if (Options::connection() === null) {
            return 'none';
        }
        $webhook = Connection::webhook();
        if ($webhook === null) {
            return 'missing';
        }
        $status = (string) $webhook->get_status();
        return in_array($status, ['active', 'paused', 'disabled'], true) ? $status : 'disabled';
    }

    /** @return array{label: string, help: string|null, ok: bool} for the status box. */
    public static function describeWebhook(string $state): array
    {
        $again = __('کد اتصال را دوباره ذخیره کنید تا فعال شود.', 'bazgasht');
        return match ($state) {
            'active' => ['label' => __('فعال', 'bazgasht'), 'help' => null, 'ok' => true],
            'paused' => [
                'label' => __('متوقف', 'bazgasht'),
                'help' => __('وب‌هوک در تنظیمات ووکامرس متوقف شده و سبدی فرستاده نمی‌شود.', 'bazgasht') . ' ' . $again,
                'ok' => false,
            ],
            'disabled' => [
                'label' => __('غیرفعال', 'bazgasht'),
                'help' => __('ووکامرس وب‌هوک را پس از چند ارسال ناموفق پیاپی غیرفعال کرده است.', 'bazgasht')
                    . ' ' . __('مشکل زیر را برطرف کنید و', 'bazgasht') . ' ' . $again,
                'ok' => false,
            ],
            'missing' => [
                'label' => __('حذف شده', 'bazgasht'),
                'help' => __('وب‌هوک بازگشت در ووکامرس حذف شده است.', 'bazgasht') . ' ' . $again,
                'ok' => false,
            ],
            default => ['label' => __('وصل نشده', 'bazgasht'), 'help' => null, 'ok' => false],
        };
    }

    /** One line of an error answer's body: no markup, no secret, bounded. */
    private static function excerpt(string $body): string
    {
        $text = trim((string) preg_replace('/\s+/u', ' ', strip_tags($body)));
        if (!mb_check_encoding($text, 'UTF-8')) {
            $text = mb_convert_encoding($text, 'UTF-8', 'UTF-8');
        }
        // Redacted before it is cut, so no part of the secret survives at the cut.
        $text = self::redact($text);
        return mb_substr($text, 0, self::EXCERPT) . (mb_strlen($text) > self::EXCERPT ? '…' : '');
    }

    /** The secret never leaves the options table, even if an answer echoes it. */
    private static function redact(string $text): string
    {
        $secret = Options::secret();
        return $secret !== null && $secret !== '' ? str_replace($secret, '***', $text) : $text;
    }
}
