<?php

declare(strict_types=1);

use Bazgasht\Jalali;
use PHPUnit\Framework\TestCase;

final class JalaliTest extends TestCase
{
    /** @dataProvider knownDays */
    public function testGregorianDaysBecomeTheirJalaliDays(array $gregorian, array $jalali): void
    {
        $this->assertSame($jalali, Jalali::fromGregorian(...$gregorian));
    }

    public static function knownDays(): array
    {
        return [
            'Nowruz 1403' => [[2024, 3, 20], [1403, 1, 1]],
            'last day of 1402 (a leap year)' => [[2024, 3, 19], [1402, 12, 29]],
            'Nowruz 1404' => [[2025, 3, 21], [1404, 1, 1]],
            'Esfand 30 of leap year 1403' => [[2025, 3, 20], [1403, 12, 30]],
            'Nowruz 1405' => [[2026, 3, 21], [1405, 1, 1]],
            'last day of Shahrivar (31 days)' => [[2026, 9, 22], [1405, 6, 31]],
            'first day of Mehr' => [[2026, 9, 23], [1405, 7, 1]],
            'Yalda' => [[2026, 12, 21], [1405, 9, 30]],
            'first of Dey' => [[2026, 12, 22], [1405, 10, 1]],
            '22 Bahman 1357' => [[1979, 2, 11], [1357, 11, 22]],
            'the Unix epoch' => [[1970, 1, 1], [1348, 10, 11]],
            'a Gregorian leap day' => [[2028, 2, 29], [1406, 12, 10]],
        ];
    }

    public function testFormatIsInTheSitesTimeZoneWithPersianDigits(): void
    {
        $unix = gmmktime(21, 0, 0, 12, 4, 2026);  // 00:30 the next day in Tehran
        $this->assertSame('۱۴ آذر ۱۴۰۵، ساعت ۰۰:۳۰', Jalali::format($unix, new DateTimeZone('Asia/Tehran')));
        $this->assertSame('۱۳ آذر ۱۴۰۵، ساعت ۲۱:۰۰', Jalali::format($unix, new DateTimeZone('UTC')));
    }

    public function testDigitsArePersian(): void
    {
        $this->assertSame('۰۱۲۳۴۵۶۷۸۹', Jalali::digits('0123456789'));
        $this->assertSame('۴۲', Jalali::digits(42));
        $this->assertSame('HTTP ۴۰۱', Jalali::digits('HTTP 401'));
    }
}
