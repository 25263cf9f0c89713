<?php

/**
 * The golden scripts' start: WordPress, WooCommerce and wpdb as the storefront stubs, then the
 * plugin's classes (no PHPUnit: the Python suite runs these with plain `php`).
 */

declare(strict_types=1);

if (!defined('ABSPATH')) {
    define('ABSPATH', dirname(__DIR__) . '/');
}
foreach (['wordpress.php', 'wordpress-shopper.php', 'woocommerce.php', 'wpdb.php'] as $stub) {
    require_once dirname(__DIR__) . '/stubs/' . $stub;
}
require_once dirname(__DIR__, 2) . '/bazgasht/includes/autoload.php';

/** The JSON object on stdin. */
function golden_input(): array
{
    $input = json_decode((string) stream_get_contents(STDIN), true);
    if (!is_array($input)) {
        fwrite(STDERR, "expected a JSON object on stdin\n");
        exit(2);
    }
    return $input;
}

function golden_output(array $answer): void
{
    echo json_encode($answer, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE), "\n";
}
