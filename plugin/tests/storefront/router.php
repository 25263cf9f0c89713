<?php

/**
 * A storefront for the browser test of the plugin's script (tests/plugin/test_storefront.py),
 * served by PHP's built-in server: `php -S 127.0.0.1:<port> router.php`. WordPress and WooCommerce
 * are the test stubs; the plugin's own code enqueues the script and answers the capture endpoint.
 *
 * - GET /checkout: a classic checkout's billing fields and the consent box, with the script and
 *   its configuration as Capture::enqueue() gives them.
 * - GET /wp-content/plugins/bazgasht/assets/*: the plugin's assets.
 * - POST /?wc-ajax=bazgasht_capture: Capture's endpoint; what it made of the request is appended
 *   as a JSON line to the file named by BAZGASHT_STOREFRONT_LOG.
 * - Any page with ?bazgasht_restore=: Restore at the time BAZGASHT_STOREFRONT_NOW (the test's
 *   clock, unix seconds), connected with the secret BAZGASHT_STOREFRONT_SECRET,
 *   the store selling products 11 and 12 (13 sold out); the outcome, the cart it left and where it
 *   redirected go to the log too.
 */

declare(strict_types=1);

require dirname(__DIR__) . '/golden/bootstrap.php';

use Bazgasht\Capture;
use Bazgasht\Options;
use Bazgasht\Restore;

$path = (string) parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH);
$assets = '/wp-content/plugins/bazgasht/assets/';

if (str_starts_with($path, $assets)) {
    $file = dirname(__DIR__, 2) . '/bazgasht/assets/' . basename($path);
    if (!is_file($file)) {
        http_response_code(404);
        return true;
    }
    header('Content-Type: ' . (str_ends_with($file, '.js') ? 'text/javascript' : 'text/css'));
    readfile($file);
    return true;
}

if (($_GET['wc-ajax'] ?? '') === Capture::ENDPOINT) {
    Capture::register();
    Capture::$respond = static function (array $data, int $status): void {
        $contact = WC()->session->get(Capture::CONTACT, []);
        $line = ['post' => $_POST, 'status' => $status, 'human' => (bool) WC()->session->get(Capture::HUMAN),
            'contact' => $contact, 'consent' => Capture::consent()];
        $log = (string) getenv('BAZGASHT_STOREFRONT_LOG');
        file_put_contents($log, json_encode($line, JSON_UNESCAPED_UNICODE) . "\n", FILE_APPEND);
        http_response_code($status);
        header('Content-Type: application/json');
        echo json_encode($data);
    };
    do_action('wc_ajax_' . Capture::ENDPOINT);
    return true;
}

if (isset($_GET[Restore::PARAM])) {
    \Bazgasht\Clock::set((int) getenv('BAZGASHT_STOREFRONT_NOW'));
    WP::$home = 'http://' . $_SERVER['HTTP_HOST'] . '/';
    update_option(Options::CONNECTION, ['url' => 'https://bazgasht.example/webhooks/woocommerce/1',
        'secret' => (string) getenv('BAZGASHT_STOREFRONT_SECRET'), 'store' => 'فروشگاه']);
    WCStub::product(11, 'چای سبز', '275000');
    WCStub::product(12, 'قوری', '1600000');
    WCStub::product(13, 'فنجان', '90000')->inStock = false;
    Restore::register();
    Restore::$exit = static function (string $outcome): void {
        $cart = [];
        foreach (WC()->cart->get_cart() as $item) {
            $cart[] = [$item['product_id'], $item['variation_id'], $item['quantity']];
        }
        $line = ['outcome' => $outcome, 'cart' => $cart, 'coupons' => WC()->cart->get_applied_coupons(),
            'token' => WC()->session->get(Capture::TOKEN), 'notices' => WCStub::$notices];
        $log = (string) getenv('BAZGASHT_STOREFRONT_LOG');
        file_put_contents($log, json_encode($line, JSON_UNESCAPED_UNICODE) . "\n", FILE_APPEND);
        foreach (WP::$headers as $name => $value) {
            header("$name: $value");
        }
        header('Location: ' . WP::$redirect, true, WP::$redirectStatus);
    };
    do_action('wp_loaded');
    return true;
}

if ($path === '/checkout') {
    WP::$home = 'http://' . $_SERVER['HTTP_HOST'] . '/';
    update_option(Options::SETTINGS, ['consent_default' => true]);
    Capture::enqueue();
    $script = ShopperWP::$scripts['bazgasht-capture'];
    $inline = implode("\n", ShopperWP::$inline['bazgasht-capture'] ?? []);
    $src = (string) parse_url($script['src'], PHP_URL_PATH);
    header('Content-Type: text/html; charset=utf-8');
    ?>
<!doctype html>
<html lang="fa" dir="rtl">
<head><meta charset="utf-8"><title>تسویه حساب</title></head>
<body>
<form class="checkout woocommerce-checkout">
  <input type="text" id="billing_first_name" name="billing_first_name">
  <input type="text" id="billing_last_name" name="billing_last_name">
  <input type="tel" id="billing_phone" name="billing_phone">
  <input type="email" id="billing_email" name="billing_email">
  <input type="checkbox" id="bazgasht_sms_consent" name="bazgasht_sms_consent" value="1" checked>
</form>
<script><?php echo $inline; ?></script>
<script src="<?php echo esc_url($src); ?>" defer></script>
</body>
</html>
    <?php
    return true;
}

http_response_code(404);
return true;
