<?php

declare(strict_types=1);

use Bazgasht\Clock;
use Bazgasht\Connection;
use Bazgasht\Merchant;
use Bazgasht\Options;
use Bazgasht\Status;
use PHPUnit\Framework\TestCase;

final class StatusTest extends TestCase
{
    private const SECRET = 'Zq3xK9mWv2LpR7tYb4NcH8sJ1dFg6aEu0iOkQw5e';
    private const NOW = 1796443200;  // 2026-12-05T04:00:00Z

    private int $id;

    protected function setUp(): void
    {
        WP::reset();
        WPAdmin::reset();
        WCWebhooks::reset();
        Clock::set(self::NOW);
        WCWebhooks::registerCartTopic();
        Connection::save(WPAdmin::connectionCode([
            'url' => 'https://api.bazgasht.ir/webhooks/woocommerce/42', 'secret' => self::SECRET, 'store' => 's',
        ]));
        $this->id = (int) get_option(Options::WEBHOOK_ID);
        // As on a store: the merchant half hooks Status::record to WooCommerce's delivery action.
        Merchant::register();
    }

    protected function tearDown(): void
    {
        Clock::set(null);
    }

    /** WooCommerce's `woocommerce_webhook_delivery` after one delivery of webhook $id. */
    private function delivered(int $code, string $body = '', ?int $id = null): void
    {
        $response = ['response' => ['code' => $code, 'message' => ''], 'body' => $body, 'headers' => []];
        $this->deliveredResponse($response, $id);
    }

    private function deliveredResponse(mixed $response, ?int $id = null): void
    {
        do_action('woocommerce_webhook_delivery', ['body' => '{}'], $response, 0.2, 'cart-token', $id ?? $this->id);
    }

    public function testADeliveryOfAnotherWebhookIsNotOurs(): void
    {
        $this->delivered(500, 'boom', $this->id + 1);
        $this->assertSame([], Status::get());
    }

    public function testASuccessfulDeliveryIsRecordedWithItsTime(): void
    {
        $this->delivered(200, '{"ok":true,"delivery_id":9}');

        $status = Status::get();
        $this->assertSame(self::NOW, $status['time']);
        $this->assertSame(200, $status['code']);
        $this->assertSame('', $status['error']);
        $this->assertSame(0, $status['failures']);
        $this->assertSame(self::NOW, $status['last_ok']);
        $this->assertNull(Status::explain($status));
    }

    public function testA401ExplainsTheSecretMismatchAndFailuresCountUntilASuccess(): void
    {
        $body = '{"error":{"code":"invalid_signature","message":"X-WC-Webhook-Signature does not match the body"}}';
        $this->delivered(200);
        $this->delivered(401, $body);
        Clock::set(self::NOW + 60);
        $this->delivered(401, $body);

        $status = Status::get();
        $this->assertSame(2, $status['failures']);
        $this->assertSame(self::NOW + 60, $status['time']);
        $this->assertSame(self::NOW, $status['last_ok']);
        $this->assertStringStartsWith('HTTP 401: {"error":{"code":"invalid_signature"', $status['error']);
        $this->assertStringContainsString('کلید مخفی', Status::explain($status));
        $this->assertStringContainsString('کد اتصال را دوباره', Status::explain($status));

        $this->delivered(200);
        $this->assertSame(0, Status::get()['failures']);
    }

    public function testUnknownAndDisabledStoresAndServerErrorsAreExplained(): void
    {
        $this->delivered(404, '{"error":"store_not_found"}');
        $this->assertStringContainsString('نمی‌شناسد', Status::explain(Status::get()));
        $this->delivered(403, '{"error":"store_disabled"}');
        $this->assertStringContainsString('غیرفعال', Status::explain(Status::get()));
        $this->delivered(503, '<html><body><h1>Service Unavailable</h1></body></html>');
        $this->assertSame('HTTP 503: Service Unavailable', Status::get()['error']);
        $this->assertStringContainsString('موقتاً', Status::explain(Status::get()));
        $this->delivered(418);
        $this->assertStringContainsString('پشتیبانی', Status::explain(Status::get()));
    }

    public function testAConnectionErrorKeepsWordPresssMessage(): void
    {
        $this->deliveredResponse(new WP_Error('http_request_failed', 'cURL error 28: Operation timed out'));

        $status = Status::get();
        $this->assertSame(0, $status['code']);
        $this->assertSame('cURL error 28: Operation timed out', $status['error']);
        $this->assertSame(1, $status['failures']);
        $this->assertStringContainsString('نتوانست به بازگشت وصل شود', Status::explain($status));
    }

    public function testTheSecretNeverReachesTheStatusAndLongBodiesAreCut(): void
    {
        $this->delivered(400, str_repeat('x', 150) . self::SECRET . str_repeat('y', 500));
        $error = Status::get()['error'];
        $this->assertStringNotContainsString(self::SECRET, $error);
        $this->assertStringNotContainsString(substr(self::SECRET, 0, 8), $error);
        $this->assertLessThan(200, mb_strlen($error));
        $this->assertStringEndsWith('…', $error);

        $this->deliveredResponse(new WP_Error('x', 'refused for ' . self::SECRET));
        $this->assertSame('refused for ***', Status::get()['error']);
    }

    public function testTheWebhookStateIsReadFromWooCommerce(): void
    {
        $this->assertSame('active', Status::webhookState());
        $webhook = wc_get_webhook($this->id);
        $webhook->set_status('paused');
        $webhook->save();
        $this->assertSame('paused', Status::webhookState());
        $webhook->set_status('disabled');
        $webhook->save();
        $this->assertSame('disabled', Status::webhookState());
        $this->assertStringContainsString('ناموفق پیاپی', Status::describeWebhook('disabled')['help']);
        $webhook->delete(true);
        $this->assertSame('missing', Status::webhookState());
        $this->assertStringContainsString('حذف شده', Status::describeWebhook('missing')['help']);
        delete_option(Options::CONNECTION);
        $this->assertSame('none', Status::webhookState());
    }
}
