<?php

declare(strict_types=1);

require_once __DIR__ . '/ShopperTestCase.php';

use Bazgasht\Options;
use Bazgasht\RestoreToken;

final class RestoreTokenTest extends ShopperTestCase
{
    private const PAYLOAD = ['v' => 1, 'cart' => 'AbCdEfGhIjKlMnOpQrStUvWxYz012345',
        'items' => [[11, 0, 2], [12, 30, 1.5]], 'coupon' => 'off5', 'exp' => self::NOW + 3600];

    public function testATokenBazgashtMintedHolds(): void
    {
        $token = RestoreToken::verify(self::mint(self::PAYLOAD), $why);

        $this->assertNull($why);
        $this->assertSame('AbCdEfGhIjKlMnOpQrStUvWxYz012345', $token->cart);
        $this->assertSame([[11, 0, 2], [12, 30, 1.5]], $token->items);
        $this->assertSame('off5', $token->coupon);
        $this->assertSame(self::NOW + 3600, $token->exp);
        $this->assertNull(RestoreToken::verify(self::mint(['coupon' => null] + self::PAYLOAD))->coupon);
    }

    public function testATamperedPayloadOrAnotherSecretIsForged(): void
    {
        [, $signature] = explode('.', self::mint(self::PAYLOAD));
        $more = (string) json_encode(['items' => [[11, 0, 99]]] + self::PAYLOAD);
        $b64 = rtrim(strtr(base64_encode($more), '+/', '-_'), '=');
        $this->assertNull(RestoreToken::verify($b64 . '.' . $signature, $why));
        $this->assertSame('forged', $why);

        $this->assertNull(RestoreToken::verify(self::mint(self::PAYLOAD, 'another'), $why));
        $this->assertSame('forged', $why);
    }

    public function testWithoutAConnectionEveryTokenIsForged(): void
    {
        unset(WP::$options[Options::CONNECTION]);

        $this->assertNull(RestoreToken::verify(self::mint(self::PAYLOAD), $why));
        $this->assertSame('forged', $why);
    }

    public function testATokenWhoseTimeIsOverIsExpired(): void
    {
        $this->assertNull(RestoreToken::verify(self::mint(['exp' => self::NOW] + self::PAYLOAD), $why));
        $this->assertSame('expired', $why);
        $this->assertNotNull(RestoreToken::verify(self::mint(['exp' => self::NOW + 1] + self::PAYLOAD)));
    }

    /** @dataProvider malformed */
    public function testAnythingElseIsMalformed(string $raw): void
    {
        $this->assertNull(RestoreToken::verify($raw, $why));
        $this->assertSame('malformed', $why);
    }

    public static function malformed(): array
    {
        return [
            'no dot' => ['abc'],
            'three parts' => ['a.b.c'],
            'padding' => ['eyJ2IjoxfQ==.abc'],
            'empty payload' => ['.abc'],
            'v2' => [self::mint(['v' => 2] + self::PAYLOAD)],
            'v as string' => [self::mint(['v' => '1'] + self::PAYLOAD)],
            'exp as string' => [self::mint(['exp' => (string) (self::NOW + 60)] + self::PAYLOAD)],
            'short cart' => [self::mint(['cart' => 'abc'] + self::PAYLOAD)],
            'product 0' => [self::mint(['items' => [[0, 0, 1]]] + self::PAYLOAD)],
            'negative variation' => [self::mint(['items' => [[11, -1, 1]]] + self::PAYLOAD)],
            'quantity 0' => [self::mint(['items' => [[11, 0, 0]]] + self::PAYLOAD)],
            'quantity true' => [self::mint(['items' => [[11, 0, true]]] + self::PAYLOAD)],
            'product as string' => [self::mint(['items' => [['11', 0, 1]]] + self::PAYLOAD)],
            'item of two' => [self::mint(['items' => [[11, 1]]] + self::PAYLOAD)],
            'items as object' => [self::mint(['items' => ['a' => [11, 0, 1]]] + self::PAYLOAD)],
            'coupon number' => [self::mint(['coupon' => 5] + self::PAYLOAD)],
            'not json' => [self::mintRaw('not json')],
        ];
    }

    private static function mintRaw(string $json): string
    {
        $b64 = static fn (string $s): string => rtrim(strtr(base64_encode($s), '+/', '-_'), '=');
        $body = $b64($json);
        return $body . '.' . $b64(hash_hmac('sha256', 'bazgasht-restore.' . $body, self::SECRET, true));
    }
}
