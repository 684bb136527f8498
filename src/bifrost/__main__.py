from bifrost.cli import main

main()
