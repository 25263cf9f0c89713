<?php

declare(strict_types=1);

use Bazgasht\Clock;
use Bazgasht\Merchant;
use Bazgasht\Purge;
use PHPUnit\Framework\TestCase;

final class PurgeTest extends TestCase
{
    private const NOW = 1796443200;

    protected function setUp(): void
    {
        WP::reset();
        WPAdmin::reset();
        Clock::set(self::NOW);
    }

    protected function tearDown(): void
    {
        Clock::set(null);
    }

    public function testWithActionSchedulerRunningThePurgeIsOneDailyActionInTheBazgashtGroup(): void
    {
        do_action('action_scheduler_init');

        Purge::schedule();
        Purge::schedule();

        $this->assertCount(1, WPAdmin::$scheduled);
        $action = WPAdmin::$scheduled[0];
        $this->assertSame('bazgasht_purge', $action['hook']);
        $this->assertSame('bazgasht', $action['group']);
        $this->assertSame(DAY_IN_SECONDS, $action['interval']);
        $this->assertGreaterThan(self::NOW, $action['start']);
        $this->assertSame([], WPAdmin::$cron);
    }

    public function testWithoutActionSchedulerWpCronRunsItDaily(): void
    {
        Purge::schedule();
        Purge::schedule();

        $this->assertSame([], WPAdmin::$scheduled);
        $this->assertSame('daily', WPAdmin::$cron['bazgasht_purge']['recurrence']);
    }

    public function testOnceActionSchedulerRunsTheWpCronFallbackGoes(): void
    {
        Purge::schedule();
        do_action('action_scheduler_init');

        Purge::schedule();

        $this->assertCount(1, WPAdmin::$scheduled);
        $this->assertSame([], WPAdmin::$cron);
    }

    public function testDeactivationUnschedulesBoth(): void
    {
        Purge::schedule();
        do_action('action_scheduler_init');
        Purge::schedule();
        WPAdmin::$cron['bazgasht_purge'] = ['timestamp' => self::NOW, 'recurrence' => 'daily'];
        as_schedule_recurring_action(self::NOW, 60, 'other_plugin_job', [], 'other');

        Merchant::deactivate();

        $this->assertSame(['other_plugin_job'], array_column(WPAdmin::$scheduled, 'hook'));
        $this->assertSame([], WPAdmin::$cron);
    }

    public function testTheCutoffIsThirtyDaysAgo(): void
    {
        $this->assertSame(self::NOW - 30 * 86400, Purge::cutoff());
    }

    public function testTheMerchantHalfHooksTheJobAndPutsALostScheduleBack(): void
    {
        Merchant::register();

        $this->assertSame([[[Purge::class, 'run'], 1]], WP::callbacks('bazgasht_purge'));
        do_action('admin_init');
        $this->assertSame('daily', WPAdmin::$cron['bazgasht_purge']['recurrence']);
    }
}
