from mpistd.cli import main

main()
