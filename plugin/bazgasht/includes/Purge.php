<?php

/**
 * The daily purge of cart rows older than 30 days (docs/plugin.md): a recurring Action Scheduler
 * action (bundled with WooCommerce, visible under Tools → Scheduled Actions), or wp-cron where
 * Action Scheduler is not running.
 *
 * @package Bazgasht
 */

declare(strict_types=1);

namespace Bazgasht;

final class Purge
{
    public const HOOK = 'bazgasht_purge';
    public const GROUP = 'bazgasht';
    public const KEEP_DAYS = 30;

    /** Schedules the purge unless it is already: activation, and each admin load in case it was lost. */
    public static function schedule(): void
    {
        if (self::actionScheduler()) {
            if (!as_has_scheduled_action(self::HOOK, [], self::GROUP)) {
                $first = Clock::now() + HOUR_IN_SECONDS;
                as_schedule_recurring_action($first, DAY_IN_SECONDS, self::HOOK, [], self::GROUP);
            }
            // A wp-cron fallback from a time Action Scheduler was not running is no longer needed.
            wp_clear_scheduled_hook(self::HOOK);
            return;
        }
        if (wp_next_scheduled(self::HOOK) === false) {
            wp_schedule_event(Clock::now() + HOUR_IN_SECONDS, 'daily', self::HOOK);
        }
    }

    /** Deactivation and uninstall: neither scheduler keeps the job. */
    public static function unschedule(): void
    {
        if (function_exists('as_unschedule_all_actions')) {
            as_unschedule_all_actions(self::HOOK, [], self::GROUP);
        }
        wp_clear_scheduled_hook(self::HOOK);
    }

    /** The job: CartStore (the storefront half) deletes the rows older than the cutoff. */
    public static function run(): void
    {
        CartStore::purge(self::cutoff());
    }

    public static function cutoff(): int
    {
        return Clock::now() - self::KEEP_DAYS * DAY_IN_SECONDS;
    }

    /**
     * Action Scheduler's functions exist as soon as WooCommerce is loaded, but scheduling works
     * only once its store is initialised (`action_scheduler_init`, on `init`).
     */
    private static function actionScheduler(): bool
    {
        return function_exists('as_schedule_recurring_action') && function_exists('as_has_scheduled_action')
            && did_action('action_scheduler_init') > 0;
    }
}
