import sys

from nntk_lang.cli import main

sys.exit(main())
