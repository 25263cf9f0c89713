<?php

declare(strict_types=1);

require_once __DIR__ . '/ShopperTestCase.php';

/** The golden scripts the Python suite runs (plain php, JSON in and out). */
final class GoldenTest extends ShopperTestCase
{
    private static function golden(string $script, array $input): array
    {
        $process = proc_open(
            [PHP_BINARY, dirname(__DIR__) . '/golden/' . $script],
            [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']],
            $pipes
        );
        fwrite($pipes[0], (string) json_encode($input));
        fclose($pipes[0]);
        $out = (string) stream_get_contents($pipes[1]);
        $err = (string) stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        self::assertSame(0, proc_close($process), $out . $err);
        $answer = json_decode($out, true);
        self::assertIsArray($answer, $out . $err);
        return $answer;
    }

    public function testRestoreTokenSaysWhatHolds(): void
    {
        $payload = ['v' => 1, 'cart' => 'AbCdEfGhIjKlMnOpQrStUvWxYz012345', 'items' => [[11, 0, 2], [12, 3, 1.5]],
            'coupon' => 'off5', 'exp' => 1700000600];
        $token = self::mint($payload, 'k');

        $this->assertSame(
            ['valid' => true, 'cart' => $payload['cart'], 'items' => $payload['items'], 'coupon' => 'off5',
                'exp' => 1700000600],
            self::golden('restore_token.php', ['secret' => 'k', 'token' => $token, 'now' => 1700000000])
        );
        $this->assertSame(
            ['valid' => false, 'why' => 'expired'],
            self::golden('restore_token.php', ['secret' => 'k', 'token' => $token, 'now' => 1700000600])
        );
        $this->assertSame(
            ['valid' => false, 'why' => 'forged'],
            self::golden('restore_token.php', ['secret' => 'other', 'token' => $token, 'now' => 1700000000])
        );
        $this->assertSame(
            ['valid' => false, 'why' => 'malformed'],
            self::golden('restore_token.php', ['secret' => 'k', 'token' => 'nope', 'now' => 1700000000])
        );
    }

    public function testCartBodyIsTheDeliveredBytesAndTheirSignature(): void
    {
        $cart = ['token' => 'AbCdEfGh12', 'phone' => null, 'first_name' => 'سارا', 'last_name' => '',
            'email' => '', 'items' => [['product_id' => 11, 'variation_id' => 0, 'name' => 'کتاب/جلد ۱',
            'quantity' => 2, 'price' => '275000', 'total' => '550000']], 'total' => '550000', 'currency' => 'IRR',
            'consent' => true, 'modified_gmt' => '2026-11-23T03:30:00'];

        $answer = self::golden('cart_body.php', ['secret' => 'wh&sec', 'cart' => $cart, 'home' => 'https://x.ir/']);

        $body = base64_decode($answer['body_base64'], true);
        $this->assertSame(base64_encode(hash_hmac('sha256', $body, 'wh&sec', true)), $answer['signature']);
        $this->assertStringContainsString('"name":"\u06a9\u062a\u0627\u0628\/\u062c\u0644\u062f \u06f1"', $body);
        $this->assertSame([
            'token' => 'AbCdEfGh12', 'phone' => null, 'first_name' => 'سارا', 'last_name' => '', 'email' => '',
            'items' => $cart['items'], 'total' => '550000', 'currency' => 'IRR', 'consent' => true,
            'restore_url' => 'https://x.ir/', 'cart_url' => 'https://x.ir/cart/',
            'date_modified_gmt' => '2026-11-23T03:30:00',
        ], json_decode($body, true));
    }
}
