<?php

declare(strict_types=1);

use Bazgasht\Connection;
use Bazgasht\Options;
use Bazgasht\Status;
use PHPUnit\Framework\TestCase;

final class ConnectionTest extends TestCase
{
    private const URL = 'https://api.bazgasht.ir/webhooks/woocommerce/42';
    private const SECRET = 'Zq3xK9mWv2LpR7tYb4NcH8sJ1dFg6aEu0iOkQw5e';

    protected function setUp(): void
    {
        WP::reset();
        WPAdmin::reset();
        WCWebhooks::reset();
        WP::$userId = 3;
        WCWebhooks::registerCartTopic();
    }

    private static function code(string $url = self::URL, string $secret = self::SECRET): string
    {
        return WPAdmin::connectionCode(['url' => $url, 'secret' => $secret, 'store' => 'کتاب‌فروشی']);
    }

    public function testAMerchantPastesACodeSplitOverLinesAndTheWebhookIsCreatedActive(): void
    {
        $pasted = implode("\n", str_split(self::code(), 30)) . "\n";

        $code = Connection::save($pasted);

        $this->assertSame('کتاب‌فروشی', $code->store);
        $this->assertCount(1, WCWebhooks::$saved);
        $id = (int) get_option(Options::WEBHOOK_ID);
        $webhook = wc_get_webhook($id);
        $this->assertSame('bazgasht cart', $webhook->get_name());
        $this->assertSame('bazgasht_cart.updated', $webhook->get_topic());
        $this->assertSame(self::URL, $webhook->get_delivery_url());
        $this->assertSame(self::SECRET, $webhook->get_secret());
        $this->assertSame('active', $webhook->get_status());
        $this->assertSame('wp_api_v3', $webhook->get_api_version());
        $this->assertSame(3, $webhook->get_user_id());
        $kept = ['url' => self::URL, 'secret' => self::SECRET, 'store' => 'کتاب‌فروشی'];
        $this->assertSame($kept, Options::connection());
        $this->assertSame(self::SECRET, Options::secret());
    }

    public function testANewCodeUpdatesTheSameWebhookRatherThanAddingASecond(): void
    {
        Connection::save(self::code());
        $id = get_option(Options::WEBHOOK_ID);
        $newSecret = str_repeat('N3w', 10);

        Connection::save(self::code('https://eu.bazgasht.ir/webhooks/woocommerce/42', $newSecret));

        $this->assertCount(1, WCWebhooks::$saved);
        $this->assertSame($id, get_option(Options::WEBHOOK_ID));
        $this->assertSame('https://eu.bazgasht.ir/webhooks/woocommerce/42', wc_get_webhook($id)->get_delivery_url());
        $this->assertSame($newSecret, wc_get_webhook($id)->get_secret());
        $this->assertSame($newSecret, Options::secret());
    }

    public function testAWebhookDeletedInWooCommerceIsCreatedAgain(): void
    {
        Connection::save(self::code());
        $old = (int) get_option(Options::WEBHOOK_ID);
        wc_get_webhook($old)->delete(true);

        Connection::save(self::code());

        $new = (int) get_option(Options::WEBHOOK_ID);
        $this->assertNotSame($old, $new);
        $this->assertSame('active', wc_get_webhook($new)->get_status());
        $this->assertCount(1, WCWebhooks::$saved);
    }

    public function testAWebhookWooCommerceDisabledAfterFailuresIsActiveAgainWithItsCountCleared(): void
    {
        Connection::save(self::code());
        $id = (int) get_option(Options::WEBHOOK_ID);
        $webhook = wc_get_webhook($id);
        $webhook->set_status('disabled');
        $webhook->set_failure_count(6);
        $webhook->save();
        update_option(Options::STATUS, ['time' => 1, 'code' => 401, 'error' => 'HTTP 401: x', 'failures' => 6]);

        Connection::save(self::code());

        $this->assertSame('active', wc_get_webhook($id)->get_status());
        $this->assertSame(0, wc_get_webhook($id)->get_failure_count());
        $this->assertSame([], Status::get(), 'the old errors are about the old code');
    }

    public function testAForgedOrGarbledCodeChangesNothing(): void
    {
        Connection::save(self::code());
        $options = WP::$options;
        $webhooks = WCWebhooks::$saved;

        foreach (['BZG1-%%%', self::code('ftp://evil.example/'), self::code(self::URL, 'short'), 'hello'] as $bad) {
            try {
                Connection::save($bad);
                $this->fail('saved ' . $bad);
            } catch (\InvalidArgumentException $refused) {
                $this->assertMatchesRegularExpression('/[\x{0600}-\x{06FF}]/u', $refused->getMessage());
            }
        }

        $this->assertSame($options, WP::$options);
        $this->assertSame($webhooks, WCWebhooks::$saved);
    }

    public function testWithoutTheCartTopicRegisteredNothingIsSaved(): void
    {
        WP::$hooks = [];

        try {
            Connection::save(self::code());
            $this->fail('saved a webhook WooCommerce gave no topic');
        } catch (\RuntimeException $refused) {
            $this->assertStringContainsString('ووکامرس', $refused->getMessage());
        }

        $this->assertSame([], WCWebhooks::$saved);
        $this->assertNull(Options::connection());
    }

    public function testDisconnectDeletesTheWebhookAndTheConnection(): void
    {
        Connection::save(self::code());
        update_option(Options::STATUS, ['time' => 1]);

        Connection::disconnect();

        $this->assertSame([], WCWebhooks::$saved);
        $this->assertNull(Options::connection());
        $this->assertFalse(get_option(Options::WEBHOOK_ID));
        $this->assertFalse(get_option(Options::STATUS));
        $this->assertSame('none', Status::webhookState());
    }

    public function testThePingReachesTheDeliveryUrlUnsignedAndGoesToTheStatusBox(): void
    {
        Connection::save(self::code());
        $id = (int) get_option(Options::WEBHOOK_ID);
        WPAdmin::$httpAnswer = ['response' => ['code' => 404], 'body' => '{"error":"store_not_found"}'];

        Connection::ping();

        $this->assertCount(1, WPAdmin::$requests);
        $this->assertSame(self::URL, WPAdmin::$requests[0]['url']);
        $this->assertSame('webhook_id=' . $id, WPAdmin::$requests[0]['args']['body']);
        $this->assertStringNotContainsString(self::SECRET, json_encode(WPAdmin::$requests));
        $status = Status::get();
        $this->assertSame(Status::PING, $status['kind']);
        $this->assertSame(404, $status['code']);
        $this->assertSame(0, $status['failures'], 'a ping is no delivery: WooCommerce counts those');
    }

    public function testNoPingWithoutAConnection(): void
    {
        Connection::ping();
        $this->assertSame([], WPAdmin::$requests);
    }
}
