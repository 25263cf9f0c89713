<?php

declare(strict_types=1);

use Bazgasht\Clock;
use Bazgasht\Merchant;
use Bazgasht\Options;
use Bazgasht\Settings;
use PHPUnit\Framework\TestCase;

final class SettingsTest extends TestCase
{
    private const URL = 'https://api.bazgasht.ir/webhooks/woocommerce/42';
    private const SECRET = 'Zq3xK9mWv2LpR7tYb4NcH8sJ1dFg6aEu0iOkQw5e';
    private const NOW = 1796443200;  // 2026-12-05T04:00:00Z, 07:30 in Tehran

    private mixed $wpdbBefore;
    private MerchantWpdb $wpdb;

    protected function setUp(): void
    {
        WP::reset();
        WPAdmin::reset();
        WCWebhooks::reset();
        Clock::set(self::NOW);
        WCWebhooks::registerCartTopic();
        WP::$options['timezone_string'] = 'Asia/Tehran';
        $this->wpdbBefore = $GLOBALS['wpdb'] ?? null;
        $GLOBALS['wpdb'] = $this->wpdb = new MerchantWpdb();
    }

    protected function tearDown(): void
    {
        Clock::set(null);
        $GLOBALS['wpdb'] = $this->wpdbBefore;
    }

    private function asManager(): void
    {
        WP::$userId = 7;
        WP::$caps = ['manage_woocommerce' => true];
    }

    /** A form of the page posted with its nonce (or a forged one). */
    private function post(string $action, array $fields, ?string $nonce = null): void
    {
        $_POST = $_REQUEST = ['action' => $action, '_wpnonce' => $nonce ?? WPAdmin::nonce($action)] + $fields;
    }

    private function code(string $store = 'کتاب‌فروشی'): string
    {
        return WPAdmin::connectionCode(['url' => self::URL, 'secret' => self::SECRET, 'store' => $store]);
    }

    private function page(): string
    {
        ob_start();
        Settings::render();
        return (string) ob_get_clean();
    }

    public function testThePageIsUnderWooCommerceForShopManagers(): void
    {
        Merchant::register();
        do_action('admin_menu');

        $this->assertCount(1, WPAdmin::$pages);
        $page = WPAdmin::$pages[0];
        $this->assertSame('woocommerce', $page['parent']);
        $this->assertSame('manage_woocommerce', $page['capability']);
        $this->assertSame('bazgasht', $page['slug']);
        $this->assertSame('بازگشت', $page['menu_title']);
        foreach (['bazgasht_connect', 'bazgasht_disconnect', 'bazgasht_settings'] as $action) {
            $this->assertTrue(has_action('admin_post_' . $action), $action);
        }
    }

    public function testAManagerPastesACodeAndThePageSaysWhereCartsGo(): void
    {
        $this->asManager();
        $this->post('bazgasht_connect', ['bazgasht_code' => addslashes(chunk_split($this->code(), 40, "\r\n"))]);

        Settings::connect();

        $this->assertSame(Settings::url(), WP::$redirect);
        $this->assertSame(self::SECRET, Options::secret());
        $this->assertCount(1, WCWebhooks::$saved);
        $html = $this->page();
        $this->assertStringContainsString('به فروشگاه «کتاب‌فروشی» در بازگشت وصل شد.', $html);
        $this->assertStringContainsString('notice-success', $html);
        $this->assertStringContainsString('api.bazgasht.ir', $html);
        $this->assertStringContainsString('آزمایش اتصال: موفق (کد ۲۰۰)', $html);
        $this->assertStringContainsString('bazgasht_disconnect', $html);
        $this->assertStringNotContainsString(self::SECRET, $html);
        $this->assertStringNotContainsString('/webhooks/woocommerce/42', $html, 'the host only');
        $this->assertStringNotContainsString('notice-success', $this->page(), 'a notice is shown once');
    }

    public function testAPingThatFailsLeavesTheCodeSavedAndSaysWhy(): void
    {
        $this->asManager();
        WPAdmin::$httpAnswer = ['response' => ['code' => 403], 'body' => '{"error":"store_disabled"}'];
        $this->post('bazgasht_connect', ['bazgasht_code' => $this->code()]);

        Settings::connect();

        $this->assertNotNull(Options::connection());
        $html = $this->page();
        $this->assertStringContainsString('notice-warning', $html);
        $this->assertStringContainsString('فروشگاه شما در بازگشت غیرفعال است', $html);
    }

    public function testAGarbledCodeShowsAPersianErrorAndChangesNothing(): void
    {
        $this->asManager();
        $this->post('bazgasht_connect', ['bazgasht_code' => 'BZG1-not*base64']);

        Settings::connect();

        $this->assertNull(Options::connection());
        $this->assertSame([], WCWebhooks::$saved);
        $html = $this->page();
        $this->assertStringContainsString('notice-error', $html);
        $this->assertStringContainsString('کد اتصال ناقص یا خراب است', $html);
    }

    public function testSomeoneWhoIsNotAShopManagerCannotSave(): void
    {
        WP::$userId = 9;
        WP::$caps = ['edit_posts' => true];
        foreach (['bazgasht_connect' => 'connect', 'bazgasht_disconnect' => 'disconnect'] as $action => $handler) {
            $this->post($action, ['bazgasht_code' => $this->code()]);
            try {
                Settings::$handler();
                $this->fail($handler . ' went through');
            } catch (WPExit) {
            }
        }
        $this->post('bazgasht_settings', ['bazgasht' => ['consent_label' => 'x']]);
        $this->expectException(WPExit::class);
        try {
            Settings::saveOptions();
        } finally {
            $this->assertSame([], WP::$options['bazgasht_settings'] ?? []);
            $this->assertNull(Options::connection());
            $this->assertNull(WP::$redirect);
        }
    }

    public function testAForgedOrMissingNonceCannotSave(): void
    {
        $this->asManager();
        $this->post('bazgasht_connect', ['bazgasht_code' => $this->code()]);
        Settings::connect();
        $before = WP::$options;

        foreach (['bazgasht_disconnect' => 'disconnect', 'bazgasht_settings' => 'saveOptions'] as $action => $handler) {
            foreach ([WPAdmin::nonce('bazgasht_connect'), 'forged', ''] as $nonce) {
                $this->post($action, ['bazgasht' => ['capture_checkout' => '0']], $nonce);
                try {
                    Settings::$handler();
                    $this->fail($handler . ' went through with nonce ' . $nonce);
                } catch (WPExit) {
                }
            }
        }
        $_POST = $_REQUEST = ['bazgasht_code' => $this->code('دیگری')];
        try {
            Settings::connect();
            $this->fail('connect went through without a nonce');
        } catch (WPExit) {
        }

        $this->assertSame($before, WP::$options);
        $this->assertCount(1, WCWebhooks::$saved);
    }

    public function testDisconnectRemovesTheWebhookAndTheConnection(): void
    {
        $this->asManager();
        $this->post('bazgasht_connect', ['bazgasht_code' => $this->code()]);
        Settings::connect();
        $this->post('bazgasht_disconnect', []);

        Settings::disconnect();

        $this->assertSame([], WCWebhooks::$saved);
        $this->assertNull(Options::connection());
        $html = $this->page();
        $this->assertStringContainsString('اتصال به بازگشت قطع شد', $html);
        $this->assertStringNotContainsString('bazgasht_disconnect', $html);
        $this->assertStringContainsString('وصل نشده', $html);
    }

    public function testTheOptionsAreSanitizedWhenSaved(): void
    {
        $this->asManager();
        $this->post('bazgasht_settings', ['bazgasht' => [
            'capture_checkout' => '1',
            'phone_prompt' => 'yes',
            'consent_default' => '1',
            'consent_label' => '<b>پیامک</b> می\\\'خواهم <script>alert(1)</script>',
            'prompt_text' => "  \n ",
            'unknown' => 'dropped',
        ]]);

        Settings::saveOptions();

        $saved = get_option(Options::SETTINGS);
        $this->assertSame(['capture_checkout', 'phone_prompt', 'consent_enabled', 'consent_default',
            'consent_label', 'prompt_text'], array_keys($saved));
        $this->assertTrue($saved['capture_checkout']);
        $this->assertFalse($saved['phone_prompt'], 'a box is ticked only with "1"');
        $this->assertFalse($saved['consent_enabled'], 'an unticked box is not posted at all');
        $this->assertTrue($saved['consent_default']);
        $this->assertSame("پیامک می'خواهم alert(1)", $saved['consent_label']);
        $this->assertSame(Options::defaults()['prompt_text'], $saved['prompt_text']);
        $this->assertSame(Settings::url(), WP::$redirect);
        $this->assertStringContainsString('تنظیمات ذخیره شد.', $this->page());
    }

    public function testTheSavedOptionsAreWhatThePageShows(): void
    {
        $this->asManager();
        update_option(Options::SETTINGS, ['phone_prompt' => true, 'capture_checkout' => false]);

        $html = $this->page();

        $this->assertMatchesRegularExpression('/name="bazgasht\[phone_prompt\]" value="1" checked/', $html);
        $this->assertMatchesRegularExpression('/name="bazgasht\[capture_checkout\]" value="1" \/>/', $html);
        $this->assertStringContainsString('value="' . esc_attr(Options::defaults()['consent_label']) . '"', $html);
    }

    public function testThePageEscapesAHostileLabelAndStoreName(): void
    {
        $this->asManager();
        update_option(Options::SETTINGS, ['consent_label' => '"><script>alert("label")</script>']);
        update_option(Options::CONNECTION, [
            'url' => self::URL, 'secret' => self::SECRET, 'store' => '<img src=x onerror=alert(1)>',
        ]);

        $html = $this->page();

        $this->assertStringNotContainsString('<script>', $html);
        $this->assertStringNotContainsString('<img', $html);
        $this->assertStringContainsString('&quot;&gt;&lt;script&gt;alert(&quot;label&quot;)', $html);
        $this->assertStringContainsString('&lt;img src=x onerror=alert(1)&gt;', $html);
        $this->assertStringNotContainsString(self::SECRET, $html);
        $this->assertMatchesRegularExpression('#<textarea[^>]*></textarea>#', $html, 'the code is never filled back');
    }

    public function testA401DeliveryIsExplainedInTheStatusBox(): void
    {
        $this->asManager();
        $this->post('bazgasht_connect', ['bazgasht_code' => $this->code()]);
        Settings::connect();
        Merchant::register();
        Clock::set(self::NOW + 3600);
        $response = ['response' => ['code' => 401], 'body' => '{"error":{"code":"invalid_signature"}}'];
        do_action('woocommerce_webhook_delivery', [], $response, 0.3, 'token', get_option(Options::WEBHOOK_ID));

        $html = $this->page();

        $this->assertStringContainsString('۱۴ آذر ۱۴۰۵، ساعت ۰۸:۳۰ — ارسال سبد: ناموفق', $html);
        $this->assertStringContainsString('HTTP 401', $html);
        $this->assertStringContainsString('کلید مخفی این سایت با بازگشت یکی نیست', $html);
        $this->assertStringContainsString('ارسال‌های ناموفق پیاپی', $html);
        $this->assertStringNotContainsString(self::SECRET, $html);
    }

    public function testAWebhookWooCommerceDisabledIsShownWithWhatToDo(): void
    {
        $this->asManager();
        $this->post('bazgasht_connect', ['bazgasht_code' => $this->code()]);
        Settings::connect();
        $webhook = wc_get_webhook((int) get_option(Options::WEBHOOK_ID));
        $webhook->set_status('disabled');
        $webhook->save();

        $html = $this->page();

        $this->assertStringContainsString('غیرفعال', $html);
        $this->assertStringContainsString('پس از چند ارسال ناموفق پیاپی', $html);
    }

    public function testTheCartsOfTheLastDayAreCountedInPersianDigits(): void
    {
        $this->asManager();
        $this->wpdb->answers = [
            "SHOW TABLES LIKE 'wp\\\\_bazgasht\\\\_carts'" => 'wp_bazgasht_carts',
            'SELECT COUNT(*)' => '128',
        ];

        $this->assertSame(128, Settings::cartsLast24h());
        $this->assertStringContainsString(
            "SELECT COUNT(*) FROM `wp_bazgasht_carts` WHERE created_gmt >= '2026-12-04T04:00:00'",
            end($this->wpdb->queries)
        );
        $this->assertStringContainsString('۱۲۸', $this->page());
    }

    public function testAMissingCartTableIsToleratedAndSaid(): void
    {
        $this->asManager();

        $this->assertNull(Settings::cartsLast24h());
        $this->assertCount(1, $this->wpdb->queries, 'no count on a table that is not there');
        $this->assertStringContainsString('جدول سبدها پیدا نشد', $this->page());
    }

    public function testThePageIsNotShownToOthers(): void
    {
        WP::$userId = 9;
        $this->expectException(WPExit::class);
        ob_start();
        try {
            Settings::render();
        } finally {
            $this->assertSame('', ob_get_clean());
        }
    }
}
