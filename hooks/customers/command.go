package customers

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/pocketbase/pocketbase/core"
	"github.com/spf13/cobra"
)

// NewCommand returns the owner's `customers` command: `customers export
// EMAIL` prints everything the shop holds about the customer with that
// address (an account, or guest orders) as JSON; `customers erase EMAIL`
// erases it, after confirmation on a terminal (--yes skips it, and is
// required without a terminal). Both apply pending migrations first, as
// `serve` does, and fail (exit non-zero) when nothing is found.
func (m *Manager) NewCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "customers",
		Short: "Exports or erases a customer's personal data (privacy requests)",
	}
	open := func(address string) (Subject, error) {
		if err := m.app.RunAllMigrations(); err != nil {
			return Subject{}, fmt.Errorf("apply migrations: %w", err)
		}
		return ownerSubject(m.app, address)
	}

	cmd.AddCommand(&cobra.Command{
		Use:          "export EMAIL",
		Short:        "Prints everything the shop holds about a customer (account, orders, emails) as JSON",
		Args:         cobra.ExactArgs(1),
		SilenceUsage: true,
		RunE: func(c *cobra.Command, args []string) error {
			subj, err := open(args[0])
			if err != nil {
				return err
			}
			export, err := buildExport(m.app, subj, m.now())
			if err != nil {
				return err
			}
			if export.User == nil && len(export.Orders) == 0 && len(export.Emails) == 0 {
				return fmt.Errorf("the shop holds no account, order or email for %s", args[0])
			}
			enc := json.NewEncoder(c.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(export)
		},
	})

	erase := &cobra.Command{
		Use:   "erase EMAIL",
		Short: "Deletes a customer's account and removes their personal data from their orders (the books stay)",
		Long: `Deletes the account with that address, if any, and removes the personal data
from every order placed with it or by the account: the email becomes a
placeholder, the shipping address, note and guest token are emptied. Numbers,
lines, totals, statuses and the stock ledger stay, so the books and reports
do not change. Queued emails to the customer are dropped, sent ones keep only
their subject. An order still pending or paid stops the erasure. On a
terminal it asks you to type the address again; --yes skips the question
(and is required without a terminal).`,
		Args:         cobra.ExactArgs(1),
		SilenceUsage: true,
	}
	yes := erase.Flags().Bool("yes", false, "erase without asking (required when not on a terminal)")
	erase.RunE = func(c *cobra.Command, args []string) error {
		subj, err := open(args[0])
		if err != nil {
			return err
		}
		if !*yes {
			if !isTerminal(c.InOrStdin()) {
				return errors.New("not on a terminal: pass --yes to erase without confirmation")
			}
			if err := confirm(c.InOrStdin(), c.OutOrStdout(), m.app, subj, args[0]); err != nil {
				return err
			}
		}
		res, err := m.eraseSubject(m.app, subj, ByOwner)
		if err != nil {
			return err
		}
		account := "no account"
		if res.AccountDeleted {
			account = "account deleted"
		}
		fmt.Fprintf(c.OutOrStdout(), "Erased %s: %s, %d orders kept without personal data, %d queued emails dropped, %d emails, %d order events, %d webhook deliveries and %d other rows scrubbed.\n",
			args[0], account, res.Orders, res.EmailsDropped, res.EmailsScrubbed, res.EventsScrubbed, res.DeliveriesScrubbed, res.OtherRowsScrubbed)
		return nil
	}
	cmd.AddCommand(erase)
	return cmd
}

// confirm tells the owner what the erasure will do and asks them to type
// the address again.
func confirm(in io.Reader, out io.Writer, app core.App, s Subject, address string) error {
	orders, err := findOrders(app, s)
	if err != nil {
		return err
	}
	account := "no account"
	if s.user != nil {
		account = "the account " + s.user.Email()
	}
	fmt.Fprintf(out, "This deletes %s and removes the personal data of %d orders (their numbers and totals stay). It cannot be undone.\nType the email address again to confirm: ", account, len(orders))
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("not confirmed (%v): nothing was changed", err)
	}
	if !strings.EqualFold(strings.TrimSpace(line), strings.TrimSpace(address)) {
		return errors.New("not confirmed: nothing was changed")
	}
	return nil
}

// isTerminal reports whether r is a terminal a person types into (not a
// pipe, a file or /dev/null).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}
