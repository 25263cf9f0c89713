<?php

/**
 * Dates as Iranian merchants read them: the Jalali (Solar Hijri) calendar with Persian digits.
 * WordPress's own date_i18n stays Gregorian unless a Persian-date plugin is installed.
 *
 * @package Bazgasht
 */

declare(strict_types=1);

namespace Bazgasht;

final class Jalali
{
    private const MONTHS = [
        'فروردین', 'اردیبهشت', 'خرداد', 'تیر', 'مرداد', 'شهریور',
        'مهر', 'آبان', 'آذر', 'دی', 'بهمن', 'اسفند',
    ];
    /** Days before each Gregorian month in a common year. */
    private const BEFORE_MONTH = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

    /**
     * Gregorian → Jalali by day counting over the 33-year cycle (the arithmetic of the widely used
     * jdf/jalaali algorithm; it agrees with the official calendar for the years a store sees).
     *
     * @return array{0: int, 1: int, 2: int} [year, month 1–12, day]
     */
    public static function fromGregorian(int $gy, int $gm, int $gd): array
    {
        $gy2 = $gm > 2 ? $gy + 1 : $gy;
        $days = 355666 + 365 * $gy + intdiv($gy2 + 3, 4) - intdiv($gy2 + 99, 100) + intdiv($gy2 + 399, 400)
            + $gd + self::BEFORE_MONTH[$gm - 1];
        $jy = -1595 + 33 * intdiv($days, 12053);
        $days %= 12053;
        $jy += 4 * intdiv($days, 1461);
        $days %= 1461;
        if ($days > 365) {
            $jy += intdiv($days - 1, 365);
            $days = ($days - 1) % 365;
        }
        if ($days < 186) {
            return [$jy, 1 + intdiv($days, 31), 1 + $days % 31];
        }
        return [$jy, 7 + intdiv($days - 186, 30), 1 + ($days - 186) % 30];
    }

    /** "۱۴ آذر ۱۴۰۵، ساعت ۰۷:۱۵" for a Unix time, in the site's time zone. */
    public static function format(int $unix, \DateTimeZone $zone): string
    {
        $at = (new \DateTimeImmutable('@' . $unix))->setTimezone($zone);
        [$y, $m, $d] = self::fromGregorian((int) $at->format('Y'), (int) $at->format('n'), (int) $at->format('j'));
        /* translators: 1: day, 2: month name, 3: year, 4: time (HH:MM), all in Persian digits */
        $text = sprintf(__('%1$s %2$s %3$s، ساعت %4$s', 'bazgasht'), $d, self::MONTHS[$m - 1], $y, $at->format('H:i'));
        return self::digits($text);
    }

    /** ASCII digits as Persian ones (U+06F0–U+06F9). */
    public static function digits(string|int $text): string
    {
        return strtr((string) $text, ['0' => '۰', '1' => '۱', '2' => '۲', '3' => '۳', '4' => '۴',
            '5' => '۵', '6' => '۶', '7' => '۷', '8' => '۸', '9' => '۹']);
    }
}
