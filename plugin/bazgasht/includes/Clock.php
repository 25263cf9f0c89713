<?php

/**
 * The one place the plugin reads the time: tests set it.
 *
 * @package Bazgasht
 */

declare(strict_types=1);

namespace Bazgasht;

final class Clock
{
    private static ?int $fixed = null;

    /** Unix seconds, UTC. */
    public static function now(): int
    {
        return self::$fixed ?? time();
    }

    /** Tests only: freeze the clock at $unix (null lets it run again). */
    public static function set(?int $unix): void
    {
        self::$fixed = $unix;
    }

    /** UTC without zone, as WooCommerce writes its *_gmt dates. */
    public static function gmt(?int $unix = null): string
    {
        return gmdate('Y-m-d\TH:i:s', $unix ?? self::now());
    }
}
