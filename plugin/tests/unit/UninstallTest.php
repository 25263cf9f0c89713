<?php

declare(strict_types=1);

use Bazgasht\Connection;
use Bazgasht\Merchant;
use Bazgasht\Options;
use Bazgasht\Purge;
use PHPUnit\Framework\TestCase;

final class UninstallTest extends TestCase
{
    private mixed $wpdbBefore;

    protected function setUp(): void
    {
        WP::reset();
        WPAdmin::reset();
        WCWebhooks::reset();
        $this->wpdbBefore = $GLOBALS['wpdb'] ?? null;
        $GLOBALS['wpdb'] = new MerchantWpdb();
    }

    protected function tearDown(): void
    {
        $GLOBALS['wpdb'] = $this->wpdbBefore;
    }

    /** A store that used the plugin: connected, configured, its purge scheduled both ways. */
    private function aStoreThatUsedThePlugin(): void
    {
        WCWebhooks::registerCartTopic();
        Connection::save(WPAdmin::connectionCode([
            'url' => 'https://api.bazgasht.ir/webhooks/woocommerce/1', 'secret' => str_repeat('s', 40), 'store' => 'x',
        ]));
        update_option(Options::SETTINGS, ['phone_prompt' => true]);
        update_option(Options::STATUS, ['time' => 1]);
        update_option(Options::DB_VERSION, '1');
        update_option('woocommerce_currency', 'IRT');
        $other = new WC_Webhook();
        $other->set_name('the merchant\'s own order webhook');
        $other->save();
        do_action('action_scheduler_init');
        Purge::schedule();
        as_schedule_recurring_action(1, 60, 'bazgasht_later_job', [], 'bazgasht');
        as_schedule_recurring_action(1, 60, 'other_job', [], 'other');
        WPAdmin::$cron['bazgasht_purge'] = ['timestamp' => 1, 'recurrence' => 'daily'];
    }

    private function assertEverythingIsGone(): void
    {
        foreach (Options::ALL as $option) {
            $this->assertArrayNotHasKey($option, WP::$options, $option);
        }
        $this->assertSame('IRT', get_option('woocommerce_currency'), 'only the plugin\'s options');
        $this->assertSame(['the merchant\'s own order webhook'], array_column(WCWebhooks::$saved, 'name'));
        $this->assertSame(['other_job'], array_column(WPAdmin::$scheduled, 'hook'));
        $this->assertSame([], WPAdmin::$cron);
        $this->assertSame(['DROP TABLE IF EXISTS `wp_bazgasht_carts`'], $GLOBALS['wpdb']->queries);
    }

    public function testUninstallRemovesOptionsWebhookScheduleAndTable(): void
    {
        $this->aStoreThatUsedThePlugin();

        Merchant::uninstall();

        $this->assertEverythingIsGone();
    }

    public function testUninstallOfAStoreThatNeverConnectedStillDropsWhatThereIs(): void
    {
        update_option(Options::DB_VERSION, '1');

        Merchant::uninstall();

        $this->assertSame([], WP::$options);
        $this->assertSame(['DROP TABLE IF EXISTS `wp_bazgasht_carts`'], $GLOBALS['wpdb']->queries);
    }

    /**
     * uninstall.php itself, as WordPress runs it: WP_UNINSTALL_PLUGIN defined, the plugin not
     * booted (a process of its own, since the constant stays defined).
     *
     * @runInSeparateProcess
     * @preserveGlobalState disabled
     */
    public function testUninstallPhpDoesItWhenWordPressUninstalls(): void
    {
        $this->aStoreThatUsedThePlugin();
        define('WP_UNINSTALL_PLUGIN', 'bazgasht/bazgasht.php');

        require dirname(__DIR__, 2) . '/bazgasht/uninstall.php';

        $this->assertEverythingIsGone();
    }
}
