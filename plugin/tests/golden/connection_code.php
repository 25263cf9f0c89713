<?php

/**
 * Golden script: reads {"code": "..."} on stdin and answers, on stdout, what the plugin makes of
 * it: {"valid": true, "url", "secret", "store"} or {"valid": false, "error": <Persian message>}.
 * The Python suite checks bazgasht's codes against it.
 */

declare(strict_types=1);

require __DIR__ . '/boot-merchant.php';

$input = json_decode((string) stream_get_contents(STDIN), true);
$pasted = is_array($input) && is_string($input['code'] ?? null) ? $input['code'] : '';
try {
    $code = \Bazgasht\ConnectionCode::parse($pasted);
    $answer = ['valid' => true] + $code->toArray();
} catch (\InvalidArgumentException $refused) {
    $answer = ['valid' => false, 'error' => $refused->getMessage()];
}
echo json_encode($answer, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES), "\n";
