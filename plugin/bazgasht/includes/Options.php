<?php

/**
 * What the plugin keeps in WordPress options, with its defaults: the one place that names them.
 *
 * @package Bazgasht
 */

declare(strict_types=1);

namespace Bazgasht;

final class Options
{
    /** The connection to bazgasht: ['url' => delivery URL, 'secret' => …, 'store' => name]. */
    public const CONNECTION = 'bazgasht_connection';
    /** The merchant's capture and consent choices (see defaults()). */
    public const SETTINGS = 'bazgasht_settings';
    /** What the last deliveries to bazgasht did, for the settings page's status box. */
    public const STATUS = 'bazgasht_status';
    /** The WooCommerce webhook (id) the plugin created for its cart topic. */
    public const WEBHOOK_ID = 'bazgasht_webhook_id';
    /** Schema version of the plugin's cart table. */
    public const DB_VERSION = 'bazgasht_db_version';
    /** The plugin's cart table, without WordPress's table prefix. */
    public const CART_TABLE = 'bazgasht_carts';
    /** Every option above, for uninstall. */
    public const ALL = [self::CONNECTION, self::SETTINGS, self::STATUS, self::WEBHOOK_ID, self::DB_VERSION];

    /** @return array{capture_checkout: bool, phone_prompt: bool, consent_enabled: bool,
     *                consent_default: bool, consent_label: string, prompt_text: string} */
    public static function defaults(): array
    {
        return [
            'capture_checkout' => true,
            'phone_prompt' => false,
            'consent_enabled' => true,
            'consent_default' => true,
            'consent_label' => __('یادآوری سبد خرید و پیشنهادهای فروشگاه را با پیامک دریافت می‌کنم.', 'bazgasht'),
            'prompt_text' => __('شماره موبایلتان را بنویسید تا سبد خریدتان برایتان نگه داشته شود.', 'bazgasht'),
        ];
    }

    /** The merchant's settings over the defaults (unknown keys dropped). */
    public static function settings(): array
    {
        $saved = get_option(self::SETTINGS, []);
        $defaults = self::defaults();
        return array_replace($defaults, array_intersect_key(is_array($saved) ? $saved : [], $defaults));
    }

    /** @return array{url: string, secret: string, store: string}|null */
    public static function connection(): ?array
    {
        $saved = get_option(self::CONNECTION, null);
        return is_array($saved) && !empty($saved['url']) && !empty($saved['secret']) ? $saved : null;
    }

    /** The webhook secret shared with bazgasht (it signs restore tokens with it), or null. */
    public static function secret(): ?string
    {
        return self::connection()['secret'] ?? null;
    }
}
