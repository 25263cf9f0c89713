<?php

/**
 * Persian (U+06F0–U+06F9) and Arabic-Indic (U+0660–U+0669) digits as ASCII.
 *
 * @package Bazgasht
 */

declare(strict_types=1);

namespace Bazgasht;

final class Digits
{
    private const MAP = [
        '۰' => '0', '۱' => '1', '۲' => '2', '۳' => '3', '۴' => '4',
        '۵' => '5', '۶' => '6', '۷' => '7', '۸' => '8', '۹' => '9',
        '٠' => '0', '١' => '1', '٢' => '2', '٣' => '3', '٤' => '4',
        '٥' => '5', '٦' => '6', '٧' => '7', '٨' => '8', '٩' => '9',
    ];

    public static function ascii(string $text): string
    {
        return strtr($text, self::MAP);
    }

    /**
     * A phone as typed, reduced to what WooCommerce's validation accepts: ASCII digits, a
     * leading +, nothing else (spaces, dashes, direction marks dropped). bazgasht itself
     * decides whether it is a valid Iranian mobile.
     */
    public static function phone(string $typed): string
    {
        $kept = preg_replace('/[^0-9+]+/', '', self::ascii($typed));
        return (str_starts_with($kept, '+') ? '+' : '') . str_replace('+', '', $kept);
    }
}
