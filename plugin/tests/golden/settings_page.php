<?php

/**
 * Prints the settings page, rendered through the stubs, as a standalone RTL HTML document with a
 * little WordPress-admin-like CSS: docs/plugin-settings.png is a screenshot of it
 * (chromium --headless --screenshot). `php settings_page.php failing` shows a 401 instead of a
 * healthy store.
 */

declare(strict_types=1);

require __DIR__ . '/boot-merchant.php';

use Bazgasht\Clock;
use Bazgasht\Connection;
use Bazgasht\Settings;
use Bazgasht\Status;

WP::reset();
WPAdmin::reset();
WCWebhooks::reset();
WCWebhooks::registerCartTopic();
WP::$userId = 1;
WP::$caps = ['manage_woocommerce' => true];
WP::$options['timezone_string'] = 'Asia/Tehran';
Clock::set(gmmktime(5, 12, 0, 12, 5, 2026));

Connection::save(WPAdmin::connectionCode([
    'url' => 'https://api.bazgasht.ir/webhooks/woocommerce/42',
    'secret' => 'Zq3xK9mWv2LpR7tYb4NcH8sJ1dFg6aEu0iOkQw5e',
    'store' => 'کتاب‌فروشی نمونه',
]));
$failing = ($argv[1] ?? '') === 'failing';
$response = $failing
    ? ['response' => ['code' => 401], 'body' => '{"error":{"code":"invalid_signature"}}']
    : ['response' => ['code' => 200], 'body' => '{"ok":true,"delivery_id":1812}'];
Status::record([], $response, 0.21, 'cart', (int) get_option('bazgasht_webhook_id'));
if ($failing) {
    Status::record([], $response, 0.19, 'cart', (int) get_option('bazgasht_webhook_id'));
}
$wpdb = new MerchantWpdb();
$wpdb->answers = ['SHOW TABLES' => 'wp_bazgasht_carts', 'SELECT COUNT(*)' => '37'];
$GLOBALS['wpdb'] = $wpdb;

ob_start();
Settings::render();
$page = (string) ob_get_clean();

$css = <<<'CSS'
* { box-sizing: border-box; }
body { margin: 0; background: #f0f0f1; color: #1d2327; font: 13px/1.7 Vazirmatn, Tahoma, "DejaVu Sans", sans-serif; }
#adminbar { height: 32px; background: #1d2327; color: #f0f0f1; padding: 0 12px; line-height: 32px; }
#menu { position: absolute; top: 32px; right: 0; bottom: 0; width: 160px; background: #1d2327; color: #f0f0f1; }
#menu div { padding: 8px 12px; }
#menu .current { background: #2271b1; }
#menu .sub { padding-right: 24px; color: #c3c4c7; }
#content { margin-right: 160px; padding: 10px 20px 20px; }
.wrap { max-width: 900px; }
h1 { font-size: 23px; font-weight: 400; margin: 8px 0 12px; }
h2 { font-size: 1.3em; margin: 1.4em 0 .6em; }
.notice { background: #fff; border-right: 4px solid #72aee6; box-shadow: 0 1px 1px rgba(0,0,0,.04); padding: 1px 12px;
  margin: 5px 0 15px; }
.notice-success { border-right-color: #00a32a; } .notice-error { border-right-color: #d63638; }
.notice-warning { border-right-color: #dba617; }
.large-text { width: 100%; }
textarea, input[type=text] { border: 1px solid #8c8f94; border-radius: 4px; padding: 4px 8px; font: inherit;
  background: #fff; }
textarea.code { font-family: "DejaVu Sans Mono", monospace; }
p.submit { margin: 8px 0 0; padding: 0; }
.button { display: inline-block; border: 1px solid #2271b1; color: #2271b1; background: #f6f7f7; border-radius: 3px;
  padding: 0 10px; min-height: 30px; font: inherit; cursor: pointer; }
.button-primary { background: #2271b1; color: #fff; }
form + form p.submit { margin-top: 6px; }
.widefat { border-spacing: 0; width: 100%; background: #fff; border: 1px solid #c3c4c7; }
.widefat th, .widefat td { padding: 8px 10px; text-align: right; vertical-align: top; }
.widefat th { width: 260px; font-weight: 600; }
.striped > tbody > :nth-child(odd) { background: #f6f7f7; }
.form-table { border-collapse: collapse; width: 100%; }
.form-table th { width: 200px; text-align: right; padding: 14px 0 14px 10px; vertical-align: top; font-weight: 600; }
.form-table td { padding: 10px 10px; }
.description { color: #646970; margin: 4px 0 0; }
.bazgasht-ok { color: #00a32a; font-weight: 600; } .bazgasht-bad { color: #d63638; font-weight: 600; }
[dir=ltr] { unicode-bidi: isolate; }
CSS;

echo "<!DOCTYPE html>\n<html lang=\"fa\" dir=\"rtl\"><head><meta charset=\"utf-8\">";
echo '<title>' . esc_html__('بازگشت', 'bazgasht') . "</title>\n<style>\n" . $css . "\n</style></head><body>\n";
echo '<div id="adminbar">' . esc_html('کتاب‌فروشی نمونه') . '</div>';
echo '<div id="menu"><div>پیشخوان</div><div>نوشته‌ها</div><div class="current">ووکامرس</div>'
    . '<div class="sub">سفارش‌ها</div><div class="sub">پیکربندی</div><div class="sub" style="color:#fff">بازگشت</div>'
    . '<div>محصولات</div></div>';
echo '<div id="content">' . $page . "</div>\n</body></html>\n";
