<?php

/**
 * Golden: verifies a restore token with the plugin's own RestoreToken.
 * stdin  {"secret": "...", "token": "...", "now": 1700000000}
 * stdout {"valid": true, "cart": "...", "items": [[11, 0, 2]], "coupon": "off5"|null, "exp": N}
 *        or {"valid": false, "why": "expired"|"forged"|"malformed"}
 */

declare(strict_types=1);

require __DIR__ . '/bootstrap.php';

use Bazgasht\Clock;
use Bazgasht\Options;
use Bazgasht\RestoreToken;

$input = golden_input();
WP::reset();
WP::$options[Options::CONNECTION] = [
    'url' => 'https://bazgasht.example/webhooks',
    'secret' => (string) ($input['secret'] ?? ''),
    'store' => 'golden',
];
Clock::set((int) ($input['now'] ?? 0));

$token = RestoreToken::verify((string) ($input['token'] ?? ''), $why);
golden_output($token === null ? ['valid' => false, 'why' => $why] : [
    'valid' => true,
    'cart' => $token->cart,
    'items' => $token->items,
    'coupon' => $token->coupon,
    'exp' => $token->exp,
]);
