"""What the browser tests share: reading the live board and acting on its charts as a pointer would."""

from __future__ import annotations

DRAG_ZOOM = """
const area = document.querySelector(arguments[0] + ' .nsewdrag');
const box = area.getBoundingClientRect();
const y = box.top + box.height / 2, from = box.left + box.width * 0.3, to = box.left + box.width * 0.7;
const fire = (type, x, target) => target.dispatchEvent(new MouseEvent(type, {
    bubbles: true, cancelable: true, view: window, clientX: x, clientY: y, button: 0, buttons: 1}));
fire('mousemove', from, area); fire('mousedown', from, area);
fire('mousemove', from + 20, document); fire('mousemove', to, document); fire('mouseup', to, document);
"""


def texts(duo, selector: str, attribute: str = "textContent") -> list[str]:
    """Read in one go: the board re-renders every second, so held element references go stale."""
    script = "return Array.from(document.querySelectorAll(arguments[0])).map(e => e[arguments[1]]);"
    return duo.driver.execute_script(script, selector, attribute)


def count(duo, selector: str) -> int:
    return duo.driver.execute_script("return document.querySelectorAll(arguments[0]).length", selector)


def click(duo, selector: str) -> None:
    """A pointer click on the element, scrolled into the window at once first: the page is taller than the
    window, and Bootstrap scrolls smoothly, so WebDriver's own scrolling would click while the page moves."""
    scroll = "document.querySelector(arguments[0]).scrollIntoView({block: 'center', behavior: 'instant'})"
    duo.driver.execute_script(scroll, selector)
    duo.find_element(selector).click()
