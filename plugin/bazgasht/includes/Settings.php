<?php

/**
 * The settings page under WooCommerce → بازگشت: the connection code, the status box, and the
 * capture and consent options. Its forms post to admin-post.php; each handler checks the
 * capability and the nonce, acts, leaves a notice for the page and redirects back to it.
 *
 * @package Bazgasht
 */

declare(strict_types=1);

namespace Bazgasht;

final class Settings
{
    public const SLUG = 'bazgasht';
    public const CAPABILITY = 'manage_woocommerce';
    /** The notice a handler leaves for the page it redirects to, per user. */
    private const NOTICE = 'bazgasht_notice_';
    private const TEXT_MAX = 300;
    private const FLAGS = ['capture_checkout', 'phone_prompt', 'consent_enabled', 'consent_default'];
    private const TEXTS = ['consent_label', 'prompt_text'];

    public static function menu(): void
    {
        add_submenu_page(
            'woocommerce',
            __('بازگشت: یادآوری سبد خرید', 'bazgasht'),
            __('بازگشت', 'bazgasht'),
            self::CAPABILITY,
            self::SLUG,
            [self::class, 'render']
        );
    }

    public static function url(): string
    {
        return admin_url('admin.php?page=' . self::SLUG);
    }

    // ---- Form handlers (admin_post_*) ----

    public static function connect(): void
    {
        self::authorize('bazgasht_connect');
        $pasted = $_POST['bazgasht_code'] ?? '';
        try {
            $code = Connection::save(is_string($pasted) ? wp_unslash($pasted) : '');
        } catch (\InvalidArgumentException | \RuntimeException $refused) {
            self::notice('error', $refused->getMessage());
            wp_safe_redirect(self::url());
            return;
        }
        Connection::ping();
        $explained = Status::explain(Status::get());
        if ($explained === null) {
            /* translators: %s: the store's name in bazgasht */
            self::notice('success', sprintf(__('به فروشگاه «%s» در بازگشت وصل شد.', 'bazgasht'), $code->store));
        } else {
            self::notice('warning', __('کد ذخیره شد، ولی آزمایش اتصال ناموفق بود:', 'bazgasht') . ' ' . $explained);
        }
        wp_safe_redirect(self::url());
    }

    public static function disconnect(): void
    {
        self::authorize('bazgasht_disconnect');
        Connection::disconnect();
        self::notice('success', __('اتصال به بازگشت قطع شد و وب‌هوک آن از ووکامرس حذف شد.', 'bazgasht'));
        wp_safe_redirect(self::url());
    }

    public static function saveOptions(): void
    {
        self::authorize('bazgasht_settings');
        $posted = $_POST['bazgasht'] ?? [];
        update_option(Options::SETTINGS, self::sanitize(is_array($posted) ? wp_unslash($posted) : []));
        self::notice('success', __('تنظیمات ذخیره شد.', 'bazgasht'));
        wp_safe_redirect(self::url());
    }

    /**
     * The posted options as kept: a checkbox is on only when posted as "1" (an unticked box is not
     * posted at all); texts are one line of plain text, bounded; an emptied text falls back to
     * its default so the checkout never shows an empty label.
     */
    public static function sanitize(array $posted): array
    {
        $defaults = Options::defaults();
        $clean = [];
        foreach (self::FLAGS as $key) {
            $clean[$key] = ($posted[$key] ?? '') === '1';
        }
        foreach (self::TEXTS as $key) {
            $text = is_string($posted[$key] ?? null) ? sanitize_text_field($posted[$key]) : '';
            $text = mb_substr($text, 0, self::TEXT_MAX);
            $clean[$key] = $text !== '' ? $text : $defaults[$key];
        }
        return $clean;
    }

    /** Ends the request (wp_die) for anyone but a shop manager, or without this form's nonce. */
    private static function authorize(string $action): void
    {
        if (!current_user_can(self::CAPABILITY)) {
            wp_die(esc_html__('شما اجازه تغییر تنظیمات بازگشت را ندارید.', 'bazgasht'), '', ['response' => 403]);
        }
        check_admin_referer($action);
    }

    private static function notice(string $type, string $message): void
    {
        $notice = ['type' => $type, 'message' => $message];
        set_transient(self::NOTICE . get_current_user_id(), $notice, MINUTE_IN_SECONDS);
    }

    // ---- The page ----

    public static function render(): void
    {
        if (!current_user_can(self::CAPABILITY)) {
            wp_die(esc_html__('شما اجازه دیدن این صفحه را ندارید.', 'bazgasht'), '', ['response' => 403]);
        }
        // dir="rtl" keeps the Persian page readable in an admin whose language is left-to-right.
        echo '<div class="wrap bazgasht-settings" dir="rtl">';
        echo '<h1>' . esc_html__('بازگشت: یادآوری سبد خرید با پیامک', 'bazgasht') . '</h1>';
        self::renderNotice();
        self::renderConnection(Options::connection());
        self::renderStatus();
        self::renderOptions(Options::settings());
        echo '</div>';
    }

    private static function renderNotice(): void
    {
        $key = self::NOTICE . get_current_user_id();
        $notice = get_transient($key);
        if (!is_array($notice) || !isset($notice['type'], $notice['message'])) {
            return;
        }
        delete_transient($key);
        $type = in_array($notice['type'], ['success', 'warning', 'error'], true) ? $notice['type'] : 'info';
        echo '<div class="notice notice-' . esc_attr($type) . ' is-dismissible"><p>'
            . esc_html((string) $notice['message']) . '</p></div>';
    }

    /** @param array{url: string, secret: string, store: string}|null $connection */
    private static function renderConnection(?array $connection): void
    {
        echo '<h2>' . esc_html__('اتصال به بازگشت', 'bazgasht') . '</h2>';
        if ($connection !== null) {
            // The store and where carts go; never the secret.
            $host = (string) parse_url($connection['url'], PHP_URL_HOST);
            echo '<p class="bazgasht-connected">';
            /* translators: 1: store name in bazgasht, 2: host carts are delivered to */
            echo esc_html(sprintf(
                __('این سایت به فروشگاه «%1$s» در بازگشت وصل است و سبدها را به %2$s می‌فرستد.', 'bazgasht'),
                $connection['store'],
                $host
            ));
            echo '</p>';
        } else {
            echo '<p>' . esc_html__('کد اتصال را از پنل بازگشت (بخش فروشگاه) کپی کنید و اینجا بچسبانید.', 'bazgasht')
                . '</p>';
        }

        echo '<form method="post" action="' . esc_url(admin_url('admin-post.php')) . '">';
        echo '<input type="hidden" name="action" value="bazgasht_connect" />';
        wp_nonce_field('bazgasht_connect');
        echo '<p><label for="bazgasht-code">'
            . esc_html($connection !== null ? __('کد اتصال تازه', 'bazgasht') : __('کد اتصال', 'bazgasht'))
            . '</label></p>';
        // The code holds the secret: the field is never filled back in.
        echo '<textarea id="bazgasht-code" name="bazgasht_code" rows="3" class="large-text code" dir="ltr"'
            . ' autocomplete="off" spellcheck="false" placeholder="BZG1-…"></textarea>';
        submit_button(__('ذخیره کد اتصال', 'bazgasht'), 'primary', 'submit', true);
        echo '</form>';

        if ($connection !== null) {
            echo '<form method="post" action="' . esc_url(admin_url('admin-post.php')) . '">';
            echo '<input type="hidden" name="action" value="bazgasht_disconnect" />';
            wp_nonce_field('bazgasht_disconnect');
            submit_button(__('قطع اتصال', 'bazgasht'), 'secondary', 'submit', true);
            echo '</form>';
        }
    }

    private static function renderStatus(): void
    {
        $state = Status::webhookState();
        $webhook = Status::describeWebhook($state);
        $status = Status::get();
        $carts = self::cartsLast24h();

        echo '<h2>' . esc_html__('وضعیت', 'bazgasht') . '</h2>';
        echo '<table class="widefat striped bazgasht-status"><tbody>';
        self::row(__('اتصال', 'bazgasht'), $state === 'none' ? __('وصل نشده', 'bazgasht') : __('وصل', 'bazgasht'));
        if ($state !== 'none') {
            $tone = $webhook['ok'] ? 'ok' : 'bad';
            self::row(__('وب‌هوک ووکامرس', 'bazgasht'), $webhook['label'], $webhook['help'], $tone);
        }
        if (isset($status['time'])) {
            $when = Jalali::format((int) $status['time'], wp_timezone());
            $ok = ($status['error'] ?? '') === '';
            $what = ($status['kind'] ?? '') === Status::PING
                ? __('آزمایش اتصال', 'bazgasht')
                : __('ارسال سبد', 'bazgasht');
            $result = $ok
                /* translators: %s: HTTP status code in Persian digits */
                ? sprintf(__('موفق (کد %s)', 'bazgasht'), Jalali::digits((int) $status['code']))
                : __('ناموفق', 'bazgasht');
            self::row(__('آخرین ارسال', 'bazgasht'), $when . ' — ' . $what . ': ' . $result, null, $ok ? 'ok' : 'bad');
            if (!$ok) {
                // The error itself is as the server wrote it (mostly English): shown left to right.
                $error = (string) $status['error'];
                self::row(__('آخرین خطا', 'bazgasht'), $error, Status::explain($status), 'bad', 'ltr');
            }
            if ((int) ($status['failures'] ?? 0) > 0) {
                self::row(__('ارسال‌های ناموفق پیاپی', 'bazgasht'), Jalali::digits((int) $status['failures']));
            }
        } elseif ($state !== 'none') {
            self::row(
                __('آخرین ارسال', 'bazgasht'),
                __('هنوز سبدی فرستاده نشده است.', 'bazgasht'),
                __('نخستین سبدی که خریداری با شماره موبایل بسازد به بازگشت فرستاده می‌شود.', 'bazgasht')
            );
        }
        self::row(
            __('سبدهای ثبت‌شده در ۲۴ ساعت گذشته', 'bazgasht'),
            $carts === null
                ? __('جدول سبدها پیدا نشد؛ افزونه را غیرفعال و دوباره فعال کنید.', 'bazgasht')
                : Jalali::digits($carts)
        );
        echo '</tbody></table>';
    }

    /** One row of the status box; every part is escaped here. */
    private static function row(
        string $label,
        string $value,
        ?string $help = null,
        string $tone = '',
        string $dir = ''
    ): void {
        echo '<tr><th scope="row">' . esc_html($label) . '</th><td>';
        echo '<span class="bazgasht-value' . ($tone !== '' ? ' bazgasht-' . esc_attr($tone) : '') . '"'
            . ($dir !== '' ? ' dir="' . esc_attr($dir) . '"' : '') . '>' . esc_html($value) . '</span>';
        if ($help !== null) {
            echo '<p class="description">' . esc_html($help) . '</p>';
        }
        echo '</td></tr>';
    }

    private static function renderOptions(array $settings): void
    {
        echo '<h2>' . esc_html__('ثبت سبد و رضایت خریدار', 'bazgasht') . '</h2>';
        echo '<form method="post" action="' . esc_url(admin_url('admin-post.php')) . '">';
        echo '<input type="hidden" name="action" value="bazgasht_settings" />';
        wp_nonce_field('bazgasht_settings');
        echo '<table class="form-table" role="presentation"><tbody>';
        self::checkbox(
            'capture_checkout',
            $settings,
            __('ثبت سبد از فرم تسویه حساب', 'bazgasht'),
            __('شماره موبایل و نام خریدار همان وقت که در فرم تسویه حساب نوشته می‌شود با سبدش ثبت می‌شود.', 'bazgasht')
        );
        self::checkbox(
            'phone_prompt',
            $settings,
            __('پرسیدن شماره موبایل', 'bazgasht'),
            __('وقتی خریدار ناشناس کالایی به سبد اضافه می‌کند، یک بار شماره موبایلش پرسیده می‌شود.', 'bazgasht')
        );
        self::text('prompt_text', $settings, __('متن درخواست شماره', 'bazgasht'));
        self::checkbox(
            'consent_enabled',
            $settings,
            __('گزینه رضایت پیامک', 'bazgasht'),
            __('در تسویه حساب گزینه‌ای نشان داده می‌شود تا خریدار دریافت پیامک را بپذیرد یا رد کند.', 'bazgasht')
        );
        self::checkbox(
            'consent_default',
            $settings,
            __('تیک پیش‌فرض رضایت', 'bazgasht'),
            __('گزینه رضایت از ابتدا تیک خورده باشد.', 'bazgasht')
        );
        self::text('consent_label', $settings, __('متن گزینه رضایت', 'bazgasht'));
        echo '</tbody></table>';
        submit_button(__('ذخیره تنظیمات', 'bazgasht'));
        echo '</form>';
    }

    private static function checkbox(string $key, array $settings, string $label, string $help): void
    {
        $id = 'bazgasht-' . str_replace('_', '-', $key);
        echo '<tr><th scope="row"><label for="' . esc_attr($id) . '">' . esc_html($label) . '</label></th><td>';
        echo '<label><input type="checkbox" id="' . esc_attr($id) . '" name="bazgasht[' . esc_attr($key) . ']"'
            . ' value="1"' . checked((bool) $settings[$key], true, false) . ' /> ' . esc_html($help) . '</label>';
        echo '</td></tr>';
    }

    private static function text(string $key, array $settings, string $label): void
    {
        $id = 'bazgasht-' . str_replace('_', '-', $key);
        echo '<tr><th scope="row"><label for="' . esc_attr($id) . '">' . esc_html($label) . '</label></th><td>';
        echo '<input type="text" class="large-text" id="' . esc_attr($id) . '" name="bazgasht[' . esc_attr($key) . ']"'
            . ' maxlength="' . self::TEXT_MAX . '" value="' . esc_attr((string) $settings[$key]) . '" />';
        echo '</td></tr>';
    }

    /**
     * Carts the storefront half captured in the last 24 hours, or null when its table is missing
     * (activation never ran, or the storefront half has not created it).
     */
    public static function cartsLast24h(): ?int
    {
        global $wpdb;
        if (!is_object($wpdb)) {
            return null;
        }
        $table = $wpdb->prefix . Options::CART_TABLE;
        if ($wpdb->get_var($wpdb->prepare('SHOW TABLES LIKE %s', $wpdb->esc_like($table))) !== $table) {
            return null;
        }
        // Clock::gmt's ISO form compares right against a DATETIME column (MySQL reads the "T")
        // and against text written by Clock::gmt alike.
        $count = $wpdb->get_var($wpdb->prepare(
            "SELECT COUNT(*) FROM `{$table}` WHERE created_gmt >= %s",
            Clock::gmt(Clock::now() - DAY_IN_SECONDS)
        ));
        return $count === null ? null : (int) $count;
    }
}
