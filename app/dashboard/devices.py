"""Which browser on which system a session's user agent names, as codes the people page words
(templates/dashboard/people.html): enough for a merchant to tell their phone from their laptop."""

import re

# Order matters: Edge and Opera say "Chrome" too, Chrome says "Safari", Android says "Linux".
_BROWSERS = (("edge", r"Edg(e|A|iOS)?/"), ("opera", r"OPR/|Opera"),
             ("samsung", r"SamsungBrowser/"), ("firefox", r"Firefox/|FxiOS/"),
             ("chrome", r"Chrome/|CriOS/|Chromium/"), ("safari", r"Safari/"))
_SYSTEMS = (("android", r"Android"), ("iphone", r"iPhone"), ("ipad", r"iPad"),
            ("windows", r"Windows"), ("mac", r"Macintosh|Mac OS X"), ("linux", r"Linux|X11"))


def device(user_agent: str) -> tuple[str, str]:
    """(browser, system) codes; "other" for what is not recognised."""
    browser = next((name for name, pattern in _BROWSERS if re.search(pattern, user_agent)),
                   "other")
    system = next((name for name, pattern in _SYSTEMS if re.search(pattern, user_agent)),
                  "other")
    return browser, system
