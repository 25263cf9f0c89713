<?php

declare(strict_types=1);

use Bazgasht\ConnectionCode;
use PHPUnit\Framework\TestCase;

final class ConnectionCodeTest extends TestCase
{
    private const SECRET = 'Zq3xK9mWv2LpR7tYb4NcH8sJ1dFg6aEu0iOkQw5e';

    private static function code(array $data, string $prefix = 'BZG1-'): string
    {
        return WPAdmin::connectionCode($data, $prefix);
    }

    private static function valid(array $over = []): array
    {
        return array_replace(
            [
                'url' => 'https://api.bazgasht.ir/webhooks/woocommerce/42',
                'secret' => self::SECRET,
                'store' => 'فروشگاه نمونه',
            ],
            $over
        );
    }

    private function refused(string $pasted): string
    {
        try {
            ConnectionCode::parse($pasted);
        } catch (\InvalidArgumentException $refused) {
            $this->assertStringNotContainsString(self::SECRET, $refused->getMessage());
            return $refused->getMessage();
        }
        $this->fail('the code was accepted');
    }

    public function testAValidCodeGivesTheUrlSecretAndStore(): void
    {
        $code = ConnectionCode::parse(self::code(self::valid()));

        $this->assertSame('https://api.bazgasht.ir/webhooks/woocommerce/42', $code->url);
        $this->assertSame(self::SECRET, $code->secret);
        $this->assertSame('فروشگاه نمونه', $code->store);
        $this->assertSame('api.bazgasht.ir', $code->host());
        $this->assertSame(self::valid(), $code->toArray());
    }

    public function testACodePastedOverLinesWithSpacesAndDirectionMarksStillReads(): void
    {
        $code = self::code(self::valid());
        $pasted = "\u{200F}  \n\t" . implode("\r\n    ", str_split($code, 17)) . " \u{200E}\u{FEFF}\n";

        $this->assertSame(self::SECRET, ConnectionCode::parse($pasted)->secret);
    }

    public function testPaddingIsTolerated(): void
    {
        $json = json_encode(self::valid(['store' => 'ab']));
        $padded = 'BZG1-' . strtr(base64_encode($json), '+/', '-_');
        $this->assertStringEndsWith('=', $padded);

        $this->assertSame('ab', ConnectionCode::parse($padded)->store);
    }

    public function testAnEmptyPasteAsksForTheCode(): void
    {
        $this->assertStringContainsString('کد اتصال را', $this->refused(" \n "));
    }

    public function testAWrongPrefixIsRefused(): void
    {
        $this->assertStringContainsString('BZG1-', $this->refused(self::code(self::valid(), 'BZG2-')));
        $this->assertStringContainsString('BZG1-', $this->refused(self::SECRET));
        $this->assertStringContainsString('BZG1-', $this->refused(substr(self::code(self::valid()), 5)));
    }

    public function testGarbledBase64OrJsonIsRefused(): void
    {
        $garbled = 'ناقص یا خراب';
        $this->assertStringContainsString($garbled, $this->refused('BZG1-'));
        $this->assertStringContainsString($garbled, $this->refused('BZG1-abc!def'));
        $this->assertStringContainsString($garbled, $this->refused('BZG1-a'));
        $this->assertStringContainsString($garbled, $this->refused(substr(self::code(self::valid()), 0, -7)));
        $this->assertStringContainsString($garbled, $this->refused('BZG1-' . rtrim(base64_encode('not json'), '=')));
        $list = ['https://x.example/', self::SECRET, 's'];
        $this->assertStringContainsString($garbled, $this->refused(self::code($list)));
        $this->assertStringContainsString($garbled, $this->refused(self::code(['url' => 'https://x.example/'])));
        $this->assertStringContainsString($garbled, $this->refused(self::code(self::valid(['store' => 7]))));
        $this->assertStringContainsString($garbled, $this->refused(self::code(self::valid(['secret' => null]))));
    }

    /** @dataProvider badUrls */
    public function testAUrlThatIsNotHttpWithAHostIsRefused(string $url): void
    {
        $this->assertStringContainsString('نشانی دریافت', $this->refused(self::code(self::valid(['url' => $url]))));
    }

    public static function badUrls(): array
    {
        return [
            'ftp' => ['ftp://api.bazgasht.ir/webhooks/1'],
            'javascript' => ['javascript:alert(1)'],
            'no host' => ['https:///webhooks/1'],
            'relative' => ['/webhooks/woocommerce/1'],
            'spaces' => ['https://api.bazgasht.ir/web hooks'],
            'quote' => ['https://api.bazgasht.ir/"><script>'],
            'empty' => [''],
        ];
    }

    public function testPlainHttpIsAcceptedForATestServer(): void
    {
        $url = 'http://localhost:8000/webhooks/woocommerce/1';
        $code = ConnectionCode::parse(self::code(self::valid(['url' => $url])));
        $this->assertSame('localhost', $code->host());
    }

    /** @dataProvider badSecrets */
    public function testASecretThatIsNot16To64LettersAndDigitsIsRefused(string $secret): void
    {
        $message = $this->refused(self::code(self::valid(['secret' => $secret])));
        $this->assertStringContainsString('کلید مخفی', $message);
        $this->assertStringNotContainsString($secret, $message);
    }

    public static function badSecrets(): array
    {
        return [
            '15 characters' => [str_repeat('a', 15)],
            '65 characters' => [str_repeat('a', 65)],
            'a dash' => ['abcdefgh-ijklmnopq'],
            'an ampersand' => ['abcdefgh&amp;ijklmnopq'],
            'Persian digits' => ['abcdefghijklmnop۱۲'],
            'a trailing newline' => ["abcdefghijklmnopq\n"],
        ];
    }

    public function testSecretsOf16And64CharactersAreAccepted(): void
    {
        foreach ([str_repeat('A', 16), str_repeat('9', 64)] as $secret) {
            $this->assertSame($secret, ConnectionCode::parse(self::code(self::valid(['secret' => $secret])))->secret);
        }
    }

    public function testTheStoreNameIsKeptAsOneLine(): void
    {
        $code = ConnectionCode::parse(self::code(self::valid(['store' => "  خانه\nکتاب\t "])));
        $this->assertSame('خانه کتاب', $code->store);
    }
}
