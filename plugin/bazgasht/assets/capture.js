/**
 * bazgasht's storefront script (no dependencies).
 *
 * - Once per browser session, as soon as the browser has a cart, it pings the capture endpoint:
 *   the server then knows the session is a person's (bots that never run scripts leave no cart).
 * - On the classic checkout it sends the phone, email, names and the SMS consent box as they are
 *   typed (debounced), so a cart left at checkout is known with its phone.
 * - It sends the phone prompt's form without leaving the page.
 *
 * The endpoint is WooCommerce's own AJAX (/?wc-ajax=bazgasht_capture); no nonce, as cached pages
 * would carry stale ones: the server rate-limits per IP instead.
 */
(function () {
    'use strict';

    var config = window.bazgashtCapture || {};
    if (!config.endpoint) {
        return;
    }
    var PINGED = 'bazgasht_pinged';
    var FIELDS = {
        phone: 'billing_phone',
        email: 'billing_email',
        first_name: 'billing_first_name',
        last_name: 'billing_last_name'
    };
    var CONSENT = 'bazgasht_sms_consent';

    function post(data, done) {
        var body = new URLSearchParams(data);
        if (!done && navigator.sendBeacon) {
            // Form-encoded (URLSearchParams); survives the page being left.
            if (navigator.sendBeacon(config.endpoint, body)) {
                return;
            }
        }
        if (!window.fetch) {
            return;
        }
        fetch(config.endpoint, {
            method: 'POST',
            body: body,
            credentials: 'same-origin',
            keepalive: true
        }).then(function (response) {
            if (done) {
                done(response.ok);
            }
        }, function () {
            if (done) {
                done(false);
            }
        });
    }

    function pinged() {
        try {
            return window.sessionStorage.getItem(PINGED) === '1';
        } catch (e) {
            return false;
        }
    }

    function ping() {
        if (pinged()) {
            return;
        }
        post({ ping: '1' });
        try {
            window.sessionStorage.setItem(PINGED, '1');
        } catch (e) {
            // Private mode: ping again next page, the server's rate limit bounds it.
        }
    }

    function hasCart() {
        return /(?:^|;\s*)woocommerce_items_in_cart=1/.test(document.cookie) ||
            document.getElementById(FIELDS.phone) !== null;
    }

    if (hasCart()) {
        ping();
    }
    // An add-to-cart without a reload: classic buttons (AJAX) and the block store's event.
    document.addEventListener('click', function (event) {
        var target = event.target;
        if (target && target.closest && target.closest('.add_to_cart_button, .single_add_to_cart_button')) {
            window.setTimeout(ping, 1500);
        }
    });
    document.body.addEventListener('wc-blocks_added_to_cart', ping);

    // The classic checkout's fields.
    function snapshot() {
        var data = {};
        Object.keys(FIELDS).forEach(function (key) {
            var field = document.getElementById(FIELDS[key]);
            if (field) {
                data[key] = field.value;
            }
        });
        var consent = document.getElementById(CONSENT);
        if (consent) {
            data.consent = consent.checked ? '1' : '0';
        }
        return data;
    }

    var timer = null;
    var last = '';
    function flush() {
        window.clearTimeout(timer);
        timer = null;
        var data = snapshot();
        var key = JSON.stringify(data);
        if (key !== last && key !== '{}') {
            last = key;
            post(data);
        }
    }

    function schedule() {
        window.clearTimeout(timer);
        timer = window.setTimeout(flush, 600);
    }

    if (config.checkout) {
        var ids = Object.keys(FIELDS).map(function (key) {
            return FIELDS[key];
        }).concat([CONSENT]);
        // Delegated: WooCommerce re-renders parts of the checkout form.
        ['input', 'change'].forEach(function (type) {
            document.addEventListener(type, function (event) {
                if (event.target && ids.indexOf(event.target.id) !== -1) {
                    schedule();
                }
            });
        });
        document.addEventListener('visibilitychange', function () {
            if (document.visibilityState === 'hidden' && timer !== null) {
                flush();
            }
        });
    }

    // The phone prompt.
    document.addEventListener('submit', function (event) {
        var form = event.target;
        if (!form || !form.hasAttribute || !form.hasAttribute('data-bazgasht-prompt')) {
            return;
        }
        event.preventDefault();
        var phone = form.querySelector('[name="phone"]');
        post({ phone: phone ? phone.value : '' }, function (ok) {
            if (ok) {
                var box = form.parentNode;
                form.textContent = '';
                var thanks = document.createElement('p');
                thanks.className = 'bazgasht-prompt__text';
                thanks.textContent = config.thanks || '';
                box.appendChild(thanks);
                window.setTimeout(function () {
                    box.hidden = true;
                }, 2500);
            }
        });
    });
    document.addEventListener('click', function (event) {
        var close = event.target && event.target.closest && event.target.closest('[data-bazgasht-close]');
        if (close) {
            var box = close.closest('.bazgasht-prompt');
            if (box) {
                box.hidden = true;
            }
        }
    });
}());
