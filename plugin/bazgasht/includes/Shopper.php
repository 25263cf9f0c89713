<?php

/**
 * The storefront half: capture, consent, the cart topic, restore links, attribution and the
 * phone prompt. Each class registers its own hooks.
 *
 * @package Bazgasht
 */

declare(strict_types=1);

namespace Bazgasht;

final class Shopper
{
    public const PARTS = [
        CartTopic::class,
        Capture::class,
        Consent::class,
        Restore::class,
        Attribution::class,
        PhonePrompt::class,
    ];

    public static function register(): void
    {
        foreach (self::PARTS as $part) {
            $part::register();
        }
    }
}
