<?php

declare(strict_types=1);

use Bazgasht\Digits;
use PHPUnit\Framework\TestCase;

final class DigitsTest extends TestCase
{
    public function testPersianAndArabicIndicDigitsBecomeAscii(): void
    {
        $this->assertSame('09123456789', Digits::ascii('۰۹۱۲۳۴۵۶۷۸۹'));
        $this->assertSame('09123456789', Digits::ascii('٠٩١٢٣٤٥٦٧٨٩'));
    }

    public function testAPhoneKeepsOnlyDigitsAndALeadingPlus(): void
    {
        $this->assertSame('+989123456789', Digits::phone(" \u{200E}+۹۸ ۹۱۲-۳۴۵ ۶۷۸۹ "));
        $this->assertSame('09123456789', Digits::phone('۰۹۱۲ ۳۴۵ ۶۷ ۸۹'));
        $this->assertSame('', Digits::phone('  '));
    }
}
