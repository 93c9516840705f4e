from fashion_review.cli import main

raise SystemExit(main())
