"""Parts of the checker behind `nntk_lang.check`: symbols, expressions, calls."""
