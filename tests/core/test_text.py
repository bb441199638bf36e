import pytest

from anbi.core.text import control_character


@pytest.mark.parametrize("text", ["", "Jansen", "Café Ö 🙂", "line one\nline two\r\n", "a\tb", "\u00a0non-breaking"])
def test_ordinary_text_can_be_stored(text):
    assert control_character(text) is None


@pytest.mark.parametrize("text, code", [("Jan\x00sen", "U+0000"), ("\x07", "U+0007"), ("a\x1bb", "U+001B"),
                                        ("del\x7f", "U+007F"), ("x\x0by", "U+000B")])
def test_control_characters_are_named(text, code):
    assert control_character(text) == f"contains a control character ({code}); remove it"
