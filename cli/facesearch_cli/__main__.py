from facesearch_cli.main import main

raise SystemExit(main())
